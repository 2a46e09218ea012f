import { renderToString } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { VirtualList } from './VirtualList.tsx';

describe('VirtualList', () => {
  test('10k rows render only the first few into the DOM, with the full scroll height', () => {
    const html = renderToString(
      <VirtualList
        label="rows"
        count={10_000}
        active={0}
        onActiveChange={() => undefined}
        rowKey={(i) => String(i)}
        renderRow={(i) => <span>row {i}</span>}
      />,
    );
    expect(html.match(/role="option"/g)?.length).toBeLessThan(20);
    expect(html).toContain('height:360000px');
    expect(html).toContain('aria-selected="true"');
  });
});
