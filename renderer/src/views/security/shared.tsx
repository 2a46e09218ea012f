/** What the Security tabs share: an action's outcome as a notice, and role chips. */
import { useState, type ReactNode } from 'react';
import { refusalNotice } from '../../logic/session.ts';

/** A notice to show: success, refusal (`denied`: the broker's 403) or failure; undefined shows none. */
export type NoticeState = { ok: boolean; text: string; denied?: boolean } | undefined;

/** Runs an action and turns its outcome into a notice. */
export function useAction(): [NoticeState, (action: () => Promise<string>) => Promise<boolean>] {
  const [notice, setNotice] = useState<NoticeState>();
  const run = async (action: () => Promise<string>) => {
    try {
      const text = await action();
      setNotice(text ? { ok: true, text } : undefined); // '' : the parent's flash says it
      return true;
    } catch (error) {
      setNotice(refusalNotice(error));
      return false;
    }
  };
  return [notice, run];
}

/** Names as chips (roles, actions); `admin` stands out. */
export function Chips(props: { items: readonly string[] }): ReactNode {
  if (props.items.length === 0) return <span className="muted">none</span>;
  return (
    <span className="chips">
      {props.items.map((item) => (
        <span key={item} className={`chip${item === 'admin' ? ' admin' : ''}`}>
          {item}
        </span>
      ))}
    </span>
  );
}
