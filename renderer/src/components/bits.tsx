/** Small shared pieces: a fill meter, an error notice, a progress bar, a key/value list. */
import { useEffect, useState, type ReactNode } from 'react';
import { atLimitShare, nearLimitShare } from '../logic/alarms.ts';
import { describeError, missingPermission } from '../logic/session.ts';

/** A horizontal fill meter that turns amber near the limit and red at it. */
export function Meter(props: { share: number; label: string }): ReactNode {
  const tone = props.share >= atLimitShare ? ' danger' : props.share >= nearLimitShare ? ' warn' : '';
  const percent = Math.min(100, Math.max(0, props.share * 100));
  return (
    <div
      className={`meter${tone}`}
      role="meter"
      aria-label={props.label}
      aria-valuenow={Math.round(percent)}
      aria-valuemin={0}
      aria-valuemax={100}
    >
      <div style={{ width: `${percent}%` }} />
    </div>
  );
}

/** A progress bar with its numbers beside it. */
export function Progress(props: { done: number; total: number; label: string }): ReactNode {
  const share = props.total > 0 ? props.done / props.total : 0;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={props.label}
      aria-valuenow={props.done}
      aria-valuemin={0}
      aria-valuemax={props.total}
    >
      <div style={{ width: `${Math.min(100, share * 100)}%` }} />
    </div>
  );
}

/** Why something failed, as the broker said it (a missing permission named as such). */
export function ErrorNotice(props: { error: Error | undefined }): ReactNode {
  if (!props.error) return null;
  const denied = missingPermission(props.error) !== undefined;
  return (
    <div className={`notice ${denied ? 'denied' : 'error'}`} role="alert">
      {describeError(props.error)}
    </div>
  );
}

/** Key/value rows (message properties, dead-message details). */
export function Details(props: { rows: ReadonlyArray<readonly [string, ReactNode]> }): ReactNode {
  return (
    <dl className="kv">
      {props.rows.map(([key, value]) => (
        <div key={key} style={{ display: 'contents' }}>
          <dt>{key}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A destructive action asks twice: the first press arms it, the second (within 5 s) does it. */
export function ConfirmButton(props: {
  label: string;
  confirm: string;
  onConfirm: () => void;
  disabled?: boolean;
}): ReactNode {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return;
    const timer = setTimeout(() => setArmed(false), 5000);
    return () => clearTimeout(timer);
  }, [armed]);
  return (
    <button
      type="button"
      className="danger"
      disabled={props.disabled}
      onClick={() => {
        if (!armed) return setArmed(true);
        setArmed(false);
        props.onConfirm();
      }}
      onBlur={() => setArmed(false)}
    >
      {armed ? props.confirm : props.label}
    </button>
  );
}

/**
 * The outcome of the last action: green when it worked, red (and announced) when refused, amber
 * for a missing permission (`denied`: the session stays; the text names the permission).
 */
export function Notice(props: { notice: { ok: boolean; text: string; denied?: boolean } | undefined }): ReactNode {
  if (!props.notice) return null;
  const { ok, text, denied } = props.notice;
  return (
    <div className={`notice ${ok ? 'ok' : denied ? 'denied' : 'error'}`} role={ok ? 'status' : 'alert'}>
      {text}
    </div>
  );
}

/** True when a key press belongs to a text field (view shortcuts must not fire while typing). */
export function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element && (['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName) || element.isContentEditable);
}
