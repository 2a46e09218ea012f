// What an agent gets back from an MCP tool: payload previews and the byte budget (pure functions).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitToBudget, previewPayloads, summarise } from '../../core/protocols/mcp/results.ts';

describe('MCP tool results', () => {
  it('a long utf8 payload becomes a preview with its full size', () => {
    const out = previewPayloads({ message: { payload: 'é'.repeat(1000), payloadEncoding: 'utf8' } }, 10) as {
      message: { payload: string; payloadBytes: number; payloadTruncated: boolean };
    };
    assert.equal(out.message.payload, 'é'.repeat(10));
    assert.equal(out.message.payloadBytes, 2000);
    assert.equal(out.message.payloadTruncated, true);
  });

  it('a text preview never ends in half a surrogate pair', () => {
    const out = previewPayloads({ payload: 'a😀😀', payloadEncoding: 'utf8' }, 2) as { payload: string };
    assert.equal(out.payload, 'a');
  });

  it('a base64 preview is cut on a 4-character boundary so it still decodes', () => {
    const payload = Buffer.alloc(300, 7).toString('base64');
    const out = previewPayloads({ payload, payloadEncoding: 'base64' }, 10) as {
      payload: string;
      payloadBytes: number;
    };
    assert.equal(out.payload.length, 8);
    assert.equal(out.payloadBytes, 300);
    assert.deepEqual([...Buffer.from(out.payload, 'base64')], [7, 7, 7, 7, 7, 7]);
  });

  it('a short payload is kept whole, with its size and no truncation mark', () => {
    const out = previewPayloads([{ payload: 'ok', payloadEncoding: 'utf8' }], 10) as Array<Record<string, unknown>>;
    assert.deepEqual(out, [{ payload: 'ok', payloadEncoding: 'utf8', payloadBytes: 2 }]);
  });

  it('an answer over budget keeps the most items that fit and moves the cursor after the last one shown', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ id: String(i + 1), text: 'x'.repeat(100) }));
    const { output, truncation } = fitToBudget({ deadMessages: items, nextAfterId: null }, 2000);
    const shown = output.deadMessages as typeof items;
    assert.ok(Buffer.byteLength(JSON.stringify(output)) <= 2000);
    assert.ok(shown.length > 0 && shown.length < 100);
    assert.equal(output.nextAfterId, shown[shown.length - 1]!.id);
    assert.deepEqual(truncation, { field: 'deadMessages', shown: shown.length, total: 100 });
    assert.match(summarise('dmq_list', output, truncation), /cut to \d+ of 100 deadMessages/);
  });

  it('an answer within budget is returned as it is', () => {
    const answer = { queues: [{ name: 'a' }], nextAfterId: null };
    assert.deepEqual(fitToBudget(answer, 1000), { output: answer });
    assert.equal(summarise('queues_list', answer), 'queues_list: 1 queues');
  });
});
