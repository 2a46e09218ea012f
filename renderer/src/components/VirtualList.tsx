/**
 * A virtualised, keyboard-driven list: only the rows in view (plus a few) are in the DOM, so
 * 10k topics or dead messages scroll as smoothly as 10. Rows have one fixed height.
 * Keys: ↑/↓, PgUp/PgDn, Home/End move; Enter activates; other keys go to `onKey`.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { moveActive, scrollToReveal, visibleRange } from '../logic/windowing.ts';
import { useSize } from './use-size.ts';

export interface VirtualListProps {
  readonly count: number;
  /** The accessible name of the list. */
  readonly label: string;
  readonly renderRow: (index: number) => ReactNode;
  readonly rowKey: (index: number) => string;
  readonly active: number;
  readonly onActiveChange: (index: number) => void;
  readonly onActivate?: (index: number) => void;
  /** Keys the list does not handle itself (→/← in a tree, Space to select); return true if handled. */
  readonly onKey?: (key: string, index: number) => boolean;
  readonly rowHeight?: number;
  /** Extra class per row (selection marks). */
  readonly rowClass?: (index: number) => string;
  readonly testId?: string;
}

export function VirtualList(props: VirtualListProps): ReactNode {
  const { count, active, rowHeight = 36 } = props;
  const ref = useRef<HTMLDivElement>(null);
  const { height } = useSize(ref);
  const [scrollTop, setScrollTop] = useState(0);
  const { first, last } = visibleRange(scrollTop, height, rowHeight, count);

  // Keep the active row in view when it moves by keyboard or from outside.
  useEffect(() => {
    const element = ref.current;
    if (!element || active < 0) return;
    const target = scrollToReveal(active, element.scrollTop, element.clientHeight, rowHeight);
    if (target !== undefined) element.scrollTop = target;
  }, [active, rowHeight]);

  const onKeyDown = (event: KeyboardEvent) => {
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const next = moveActive(event.key, Math.max(0, active), count, page);
    if (next !== undefined) props.onActiveChange(next);
    else if (event.key === 'Enter' && active >= 0 && active < count) props.onActivate?.(active);
    else if (!(active >= 0 && props.onKey?.(event.key, active))) return;
    event.preventDefault();
  };

  const rows: ReactNode[] = [];
  for (let index = first; index < last; index++)
    rows.push(
      <div
        key={props.rowKey(index)}
        role="option"
        aria-selected={index === active}
        className={`vrow${index === active ? ' active' : ''} ${props.rowClass?.(index) ?? ''}`}
        style={{ top: index * rowHeight, height: rowHeight }}
        onMouseDown={() => props.onActiveChange(index)}
        onDoubleClick={() => props.onActivate?.(index)}
      >
        {props.renderRow(index)}
      </div>,
    );

  return (
    <div
      ref={ref}
      className="vlist"
      role="listbox"
      aria-label={props.label}
      tabIndex={0}
      data-testid={props.testId}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div style={{ height: count * rowHeight, position: 'relative' }}>{rows}</div>
    </div>
  );
}
