/** What the Security tabs share: the pick list on the left, an action's outcome as a notice, and role chips. */
import { useState, type ReactNode } from 'react';
import { ErrorNotice } from '../../components/bits.tsx';
import { count } from '../../logic/format.ts';
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

/**
 * The left half of a Security tab: a title with the count and a "New …" button over a table whose
 * rows select an item (`rowAttribute` carries its name, for tests and styles).
 */
export function PickList<T extends { name: string }>(props: {
  title: string;
  newLabel: string;
  items: readonly T[];
  error: Error | undefined;
  selected: string | undefined;
  columns: readonly string[];
  rowAttribute: `data-${string}`;
  onNew: () => void;
  onPick: (name: string) => void;
  /** The row's cells (`<td>`s). */
  cells: (item: T) => ReactNode;
}): ReactNode {
  return (
    <div className="panel stack" style={{ overflow: 'auto' }}>
      <div className="row">
        <h3>{props.title}</h3>
        <span className="muted">{count(props.items.length)}</span>
        <span className="spacer" />
        <button className="primary" onClick={props.onNew}>
          {props.newLabel}
        </button>
      </div>
      <ErrorNotice error={props.error} />
      <table className="table pick" aria-label={props.title}>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th key={column}>{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.items.map((item) => (
            <tr
              key={item.name}
              className={item.name === props.selected ? 'selected' : undefined}
              onClick={() => props.onPick(item.name)}
              {...{ [props.rowAttribute]: item.name }}
            >
              {props.cells(item)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
