// The Sparkplug state's rules without sockets: seq wrapping, signed values, caps, bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataTypeNumber, encodePayload, type SparkplugPayloadInput } from '../../core/sparkplug/payload.ts';
import { SparkplugState, defaultSparkplugLimits } from '../../core/sparkplug/state.ts';
import { parseSparkplugTopic } from '../../core/sparkplug/topic.ts';

let clock = 1_000;
const feed = (state: SparkplugState, topic: string, payload: SparkplugPayloadInput | Buffer) =>
  state.record({
    topic,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(encodePayload(payload)),
    timestamp: clock++,
  });
const bdSeq = (n: number) => ({ name: 'bdSeq', datatype: dataTypeNumber('Int64'), longValue: n });

describe('Sparkplug state', () => {
  it('seq wraps from 255 to 0 without a gap; a skipped number is a gap', () => {
    const state = new SparkplugState();
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 254, metrics: [bdSeq(0)] });
    feed(state, 'spBv1.0/g/NDATA/n', { seq: 255, metrics: [] });
    feed(state, 'spBv1.0/g/NDATA/n', { seq: 0, metrics: [] });
    assert.equal(state.snapshot({ metrics: false }).nodes[0]!.seqGaps, 0);
    feed(state, 'spBv1.0/g/NDATA/n', { seq: 2, metrics: [] });
    const node = state.snapshot({ metrics: false }).nodes[0]!;
    assert.equal(node.seqGaps, 1);
    assert.deepEqual({ ...node.lastSeqGap, at: 0 }, { expected: 1, received: 2, messageType: 'NDATA', at: 0 });
  });

  it('a bdSeq jump of more than one between births is flagged; a rebirth with the same bdSeq is not', () => {
    const state = new SparkplugState();
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 0, metrics: [bdSeq(3)] });
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 0, metrics: [bdSeq(3)] });
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 0, metrics: [bdSeq(4)] });
    assert.equal(state.snapshot({ metrics: false }).nodes[0]!.bdSeqGaps, 0);
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 0, metrics: [bdSeq(9)] });
    const node = state.snapshot({ metrics: false }).nodes[0]!;
    assert.equal(node.bdSeqGaps, 1);
    assert.equal(node.lastBdSeqGap?.expected, 5);
    assert.equal(node.lastBdSeqGap?.received, 9);
  });

  it('signed types are read back from their two’s complement wire form; arrays and nulls are shown', () => {
    const state = new SparkplugState();
    feed(state, 'spBv1.0/g/NBIRTH/n', {
      seq: 0,
      metrics: [
        { name: 'i8', datatype: dataTypeNumber('Int8'), intValue: 0xff },
        { name: 'i16', datatype: dataTypeNumber('Int16'), intValue: 0xfffe },
        { name: 'i32', datatype: dataTypeNumber('Int32'), intValue: 0xfffffffd },
        { name: 'i64', datatype: dataTypeNumber('Int64'), longValue: -4n },
        { name: 'u64', datatype: dataTypeNumber('UInt64'), longValue: 2n ** 64n - 1n },
        {
          name: 'arr',
          datatype: dataTypeNumber('Int16Array'),
          bytesValue: new Uint8Array([0x01, 0x00, 0xff, 0xff]),
        },
        { name: 'none', datatype: dataTypeNumber('Double'), isNull: true },
      ],
    });
    const values = Object.fromEntries(
      state.snapshot({ metrics: true }).nodes[0]!.metrics!.map((m) => [m.name, m.value]),
    );
    assert.deepEqual(values, {
      i8: -1,
      i16: -2,
      i32: -3,
      i64: -4,
      u64: '18446744073709551615',
      arr: '[1, -1]',
      none: null,
    });
  });

  it('caps bound nodes and metrics; what comes past them is counted as untracked', () => {
    const state = new SparkplugState({ ...defaultSparkplugLimits, maxNodes: 2, maxMetricsPerNode: 3 });
    for (const n of ['a', 'b', 'c']) feed(state, `spBv1.0/g/NBIRTH/${n}`, { seq: 0, metrics: [bdSeq(0)] });
    const many = Array.from({ length: 5 }, (_, i) => ({
      name: `m${i}`,
      datatype: dataTypeNumber('Int32'),
      intValue: i,
    }));
    feed(state, 'spBv1.0/g/NDATA/a', { seq: 1, metrics: many });
    const snapshot = state.snapshot({ metrics: true });
    assert.deepEqual(
      snapshot.nodes.map((n) => n.node),
      ['a', 'b'],
    );
    assert.equal(snapshot.nodes[0]!.metricCount, 3);
    assert.equal(snapshot.totals.untracked, 1 + 3, 'node c, and m2…m4 past the per-node cap');
    // A birth starts the metrics over, and frees the count.
    feed(state, 'spBv1.0/g/NBIRTH/a', { seq: 0, metrics: [bdSeq(0)] });
    assert.equal(state.snapshot({ metrics: false }).totals.metrics, 2);
  });

  it('bad input is counted, never thrown: garbage payloads, non-Sparkplug topics, bad STATE', () => {
    const state = new SparkplugState();
    assert.doesNotThrow(() => {
      feed(state, 'spBv1.0/g/NDATA/n', Buffer.from([0x12, 0x10, 0x0a]));
      feed(state, 'spBv1.0/g/NDATA/n', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
      feed(state, 'spBv1.0/g/BOGUS/n', Buffer.from('x'));
      feed(state, 'spBv1.0/g', Buffer.from('x'));
      feed(state, 'spBv1.0/STATE/host', Buffer.from('not json'));
    });
    const { totals, recentUndecodable } = state.snapshot({ metrics: false });
    assert.equal(totals.undecodable, 3);
    assert.equal(totals.invalidTopics, 2);
    assert.equal(recentUndecodable[0]!.topic, 'spBv1.0/STATE/host');
  });

  it('a host application STATE (JSON) is tracked online and offline', () => {
    const state = new SparkplugState();
    feed(state, 'spBv1.0/STATE/scada', Buffer.from(JSON.stringify({ online: true, timestamp: 5 })));
    feed(state, 'spBv1.0/STATE/scada', Buffer.from(JSON.stringify({ online: false, timestamp: 6 })));
    assert.deepEqual(
      state.snapshot({ metrics: false }).hosts.map(({ host, online, timestamp }) => ({ host, online, timestamp })),
      [{ host: 'scada', online: false, timestamp: 6 }],
    );
  });

  it('topics parse by level: node, device and STATE; anything else is not Sparkplug', () => {
    assert.deepEqual(parseSparkplugTopic('spBv1.0/g/NDATA/n'), { kind: 'node', group: 'g', type: 'NDATA', node: 'n' });
    assert.deepEqual(parseSparkplugTopic('spBv1.0/g/DDATA/n/d'), {
      kind: 'device',
      group: 'g',
      type: 'DDATA',
      node: 'n',
      device: 'd',
    });
    assert.equal(parseSparkplugTopic('spBv1.0/g/NDATA/n/d'), undefined);
    assert.equal(parseSparkplugTopic('spBv1.0/g/DDATA/n'), undefined);
    assert.equal(parseSparkplugTopic('spBv1.0//NDATA/n'), undefined);
    assert.equal(parseSparkplugTopic('spAv1.0/g/NDATA/n'), undefined);
  });

  it('data from a dead node or an unborn device is flagged as needing a rebirth; the next NBIRTH clears it', () => {
    const state = new SparkplugState();
    const node = () => state.snapshot({ metrics: false }).nodes[0]!;
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 0, metrics: [bdSeq(1)] });
    feed(state, 'spBv1.0/g/DDATA/n/d', { seq: 1, metrics: [{ name: 'x', datatype: 3, intValue: 1 }] });
    assert.deepEqual(
      { ...node().rebirthNeeded, at: 0 },
      { reason: 'no-birth', alias: null, device: 'd', messageType: 'DDATA', at: 0 },
    );
    feed(state, 'spBv1.0/g/NBIRTH/n', { seq: 0, metrics: [bdSeq(1)] });
    assert.equal(node().rebirthNeeded, null);
    feed(state, 'spBv1.0/g/NDEATH/n', { metrics: [bdSeq(1)] });
    feed(state, 'spBv1.0/g/NDATA/n', { seq: 1, metrics: [{ name: 'x', datatype: 3, intValue: 1 }] });
    assert.equal(node().rebirthNeeded?.reason, 'no-birth');
    assert.equal(node().unknownAliasMessages, 2);
  });
});
