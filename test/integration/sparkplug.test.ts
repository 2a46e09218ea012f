// Sparkplug B over real sockets: simulated edge nodes (MQTT.js, the spec's protobuf schema)
// publish to a whole broker; the state is read through the HTTP API (the typed client).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createHttpClient, type HttpClient } from '../../core/api/client.ts';
import type { OperationOutput } from '../../core/api/contract.ts';
import type { Broker } from '../../core/broker.ts';
import { main } from '../../core/cli.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { EdgeNode } from '../helpers/sparkplug-edge.ts';
import { waitFor } from '../helpers/wait.ts';

type Snapshot = OperationOutput<'sparkplug.state'>;
type Node = Snapshot['nodes'][number];

describe('Sparkplug B state', () => {
  let broker: Broker;
  let client: HttpClient;
  let cleanup: () => Promise<void>;
  let mqttUrl: string;
  const nodes: EdgeNode[] = [];

  before(async () => {
    ({ broker, cleanup } = await startTestBroker());
    client = createHttpClient(broker.httpUrl);
    mqttUrl = broker.listeners.find((l) => l.name === 'mqtt')!.url.split(' ')[0]!;
  });
  after(async () => {
    for (const node of nodes) await node.close().catch(() => undefined);
    await cleanup();
  });

  const connect = async (options: Parameters<typeof EdgeNode.connect>[1]) => {
    const node = await EdgeNode.connect(mqttUrl, options);
    nodes.push(node);
    return node;
  };
  const state = () => client.call('sparkplug.state', {});
  /** Waits until the node exists and `check` holds for it; returns it. */
  const nodeWhen = async (group: string, id: string, check: (node: Node) => boolean, what: string) => {
    let found: Node | undefined;
    await waitFor(
      async () => {
        found = (await state()).nodes.find((n) => n.group === group && n.node === id);
        return found !== undefined && check(found);
      },
      { timeoutMs: 10_000, what: () => `${group}/${id}: ${what} (now ${JSON.stringify(found)?.slice(0, 600)})` },
    );
    return found!;
  };
  const metric = (node: Node, name: string, device?: string) =>
    (device === undefined ? node.metrics : node.devices.find((d) => d.device === device)?.metrics)?.find(
      (m) => m.name === name,
    );

  it('births make the node and its devices online, with metrics by name, datatype and alias', async () => {
    const edge = await connect({
      group: 'plant',
      node: 'line1',
      bdSeq: 4,
      metrics: [
        { name: 'Temperature', datatype: 'Double', value: 21.5 },
        { name: 'Counter', datatype: 'Int64', value: -3 },
      ],
      devices: [{ id: 'pump', metrics: [{ name: 'Running', datatype: 'Boolean', value: true }] }],
    });
    await edge.birth();
    const node = await nodeWhen('plant', 'line1', (n) => n.devices[0]?.state === 'online', 'device born');
    assert.equal(node.state, 'online');
    assert.equal(node.bdSeq, 4);
    assert.deepEqual(
      { ...metric(node, 'Temperature'), updatedAt: 0, timestamp: 0 },
      { name: 'Temperature', alias: '1', datatype: 'Double', value: 21.5, timestamp: 0, updatedAt: 0 },
    );
    assert.equal(metric(node, 'Counter')?.value, -3, 'Int64 is two’s complement on the wire');
    assert.equal(metric(node, 'Running', 'pump')?.value, true);
    assert.equal(metric(node, 'Running', 'pump')?.alias, '3');
  });

  it('DATA by alias is resolved to the names the births gave', async () => {
    const edge = await connect({
      group: 'plant',
      node: 'line2',
      metrics: [{ name: 'Pressure', datatype: 'Float', value: 1 }],
      devices: [{ id: 'valve', metrics: [{ name: 'Position', datatype: 'UInt16', value: 0 }] }],
    });
    await edge.birth();
    await edge.nodeData({ Pressure: 2.5 });
    await edge.deviceData('valve', { Position: 70 });
    const node = await nodeWhen(
      'plant',
      'line2',
      (n) => metric(n, 'Position', 'valve')?.value === 70 && metric(n, 'Pressure')?.value === 2.5,
      'data resolved by alias',
    );
    assert.equal(metric(node, 'Pressure')?.datatype, 'Float', 'the birth’s datatype stands when DATA leaves it out');
    assert.equal(node.rebirthNeeded, null);
    assert.equal(node.seqGaps, 0);
  });

  it('a device is offline after DDEATH, its node still online', async () => {
    const edge = await connect({
      group: 'plant',
      node: 'line3',
      metrics: [],
      devices: [{ id: 'fan', metrics: [{ name: 'Speed', datatype: 'Int32', value: 10 }] }],
    });
    await edge.birth();
    await nodeWhen('plant', 'line3', (n) => n.devices[0]?.state === 'online', 'device online');
    await edge.deviceDeath('fan');
    const node = await nodeWhen('plant', 'line3', (n) => n.devices[0]?.state === 'offline', 'device offline');
    assert.equal(node.state, 'online');
    assert.ok(node.devices[0]!.deathAt !== null);
  });

  it('the node and its devices go offline when its will (NDEATH) fires on a killed socket', async () => {
    const edge = await connect({
      group: 'plant',
      node: 'line4',
      bdSeq: 7,
      metrics: [{ name: 'Level', datatype: 'Double', value: 3 }],
      devices: [{ id: 'tank', metrics: [{ name: 'Volume', datatype: 'Double', value: 1 }] }],
    });
    await edge.birth();
    await nodeWhen('plant', 'line4', (n) => n.devices[0]?.state === 'online', 'born');
    edge.kill();
    const node = await nodeWhen('plant', 'line4', (n) => n.state === 'offline', 'offline after the will');
    assert.equal(node.devices[0]!.state, 'offline');
    assert.equal(node.staleDeaths, 0);
  });

  it('an explicit NDEATH takes the node offline; one with an older bdSeq is ignored as stale', async () => {
    const old = await connect({ group: 'plant', node: 'line5', bdSeq: 1, metrics: [] });
    await old.birth();
    await nodeWhen('plant', 'line5', (n) => n.state === 'online' && n.bdSeq === 1, 'born with bdSeq 1');
    // A new session (bdSeq 2) is born; the old session's death arrives late.
    const current = await connect({ group: 'plant', node: 'line5', bdSeq: 2, metrics: [] });
    await current.birth();
    await nodeWhen('plant', 'line5', (n) => n.bdSeq === 2, 'reborn with bdSeq 2');
    await old.death();
    const node = await nodeWhen('plant', 'line5', (n) => n.staleDeaths === 1, 'the stale death counted');
    assert.equal(node.state, 'online');
    await current.death();
    await nodeWhen('plant', 'line5', (n) => n.state === 'offline', 'offline after its own NDEATH');
  });

  it('a seq gap is flagged with what was expected and what came', async () => {
    const edge = await connect({
      group: 'plant',
      node: 'line6',
      metrics: [{ name: 'Flow', datatype: 'Double', value: 0 }],
    });
    await edge.birth(); // seq 0
    await edge.nodeData({ Flow: 1 }); // seq 1
    edge.skipSeq(3);
    await edge.nodeData({ Flow: 2 }); // seq 5
    const node = await nodeWhen('plant', 'line6', (n) => n.seqGaps === 1, 'one gap');
    assert.deepEqual({ ...node.lastSeqGap, at: 0 }, { expected: 2, received: 5, messageType: 'NDATA', at: 0 });
  });

  it('DATA from a node whose birth was missed is flagged; a rebirth request reaches it as an NCMD and its new NBIRTH clears the flag', async () => {
    // This node skips its NBIRTH: to the broker it looks like one that was born before it started.
    const edge = await connect({
      group: 'plant',
      node: 'line7',
      metrics: [{ name: 'Speed', datatype: 'Double', value: 5 }],
    });
    edge.skipSeq(1);
    await edge.nodeData({ Speed: 6 });
    const flagged = await nodeWhen('plant', 'line7', (n) => n.rebirthNeeded !== null, 'rebirth needed');
    assert.equal(flagged.state, 'unknown');
    assert.equal(flagged.rebirthNeeded!.reason, 'unknown-alias');
    assert.equal(flagged.rebirthNeeded!.alias, '1');
    assert.equal(flagged.unknownAliasMessages, 1);
    assert.equal(flagged.metrics!.find((m) => m.alias === '1')?.name, null, 'an unresolved alias has no name');

    const receipt = await client.call('sparkplug.rebirth', { group: 'plant', node: 'line7' });
    assert.equal(receipt.topic, 'spBv1.0/plant/NCMD/line7');
    const command = await edge.waitForCommand();
    const rebirth = command.metrics.find((m) => m.name === 'Node Control/Rebirth');
    assert.ok(rebirth, 'the NCMD names Node Control/Rebirth');
    assert.equal(rebirth.datatype, 11, 'Boolean');
    assert.equal('booleanValue' in rebirth && rebirth.booleanValue, true);

    // The simulator answers with a new NBIRTH: the flag clears and the alias resolves.
    const reborn = await nodeWhen('plant', 'line7', (n) => n.state === 'online', 'reborn');
    assert.equal(reborn.rebirthNeeded, null);
    assert.ok(reborn.rebirthRequestedAt !== null);
    await edge.nodeData({ Speed: 7 });
    const resolved = await nodeWhen('plant', 'line7', (n) => metric(n, 'Speed')?.value === 7, 'Speed by alias');
    assert.equal(resolved.rebirthNeeded, null);
  });

  it('a malformed protobuf on spBv1.0 is counted as undecodable and the broker keeps running', async () => {
    const edge = await connect({
      group: 'plant',
      node: 'line8',
      metrics: [{ name: 'X', datatype: 'Int32', value: 1 }],
    });
    await edge.birth();
    await nodeWhen('plant', 'line8', (n) => n.state === 'online', 'born');
    const before = (await state()).totals.undecodable;
    // metrics: 16 bytes announced, 2 given
    await edge.publishRaw(edge.topic('NDATA'), Buffer.from([0x12, 0x10, 0x0a, 0x01]));
    await edge.publishRaw('spBv1.0/plant/NOPE/line8', Buffer.from('x'));
    const node = await nodeWhen('plant', 'line8', (n) => n.undecodable === 1, 'one undecodable');
    const after = await state();
    assert.equal(after.totals.undecodable, before + 1);
    assert.ok(after.totals.invalidTopics >= 1);
    assert.equal(after.recentUndecodable[0]!.topic, 'spBv1.0/plant/NDATA/line8');
    assert.equal(node.state, 'online');
    // Still serving: a plain MQTT client publishes and the node keeps working.
    await edge.nodeData({ X: 2 });
    await nodeWhen('plant', 'line8', (n) => metric(n, 'X')?.value === 2, 'data after the bad payload');
    const plain = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
    await plain.publishAsync('after/bad', 'ok', { qos: 1 });
    await plain.endAsync();
    assert.equal((await client.call('health', {})).status, 'ok');
  });

  it('rebirth is refused for an id that is not one topic level', async () => {
    await assert.rejects(client.call('sparkplug.rebirth', { group: 'a/b', node: 'n' }), /one topic level/);
    await assert.rejects(client.call('sparkplug.rebirth', { group: 'g', node: '#' }), /one topic level/);
  });

  it('state can be filtered by group and node, and asked without metrics', async () => {
    const one = await client.call('sparkplug.state', { group: 'plant', node: 'line1', metrics: false });
    assert.deepEqual(
      one.nodes.map((n) => `${n.group}/${n.node}`),
      ['plant/line1'],
    );
    assert.equal(one.nodes[0]!.metrics, undefined);
    assert.ok(one.nodes[0]!.metricCount >= 3);
    assert.ok(one.totals.nodes >= 8, 'totals count every node');
  });

  it('the CLI shows nodes with their state and problems, and asks for a rebirth', async () => {
    let stdout = '';
    const sluice = (...args: string[]) =>
      main(['node', 'sluice', '--url', broker.httpUrl, ...args], { out: (t) => (stdout += t), err: () => undefined });
    assert.equal(await sluice('sparkplug', 'state'), 0);
    assert.match(stdout, /plant\s+line6\s+online\s+0\s+\d+\s+\S+\s+1 seq gap\(s\)/);
    assert.match(stdout, /plant\s+line3\s+fan\s+offline/);
    stdout = '';
    assert.equal(await sluice('sparkplug', 'rebirth', 'plant', 'line6'), 0);
    assert.match(stdout, /Asked for a rebirth: NCMD spBv1\.0\/plant\/NCMD\/line6/);
  });
});

describe('Sparkplug B permissions', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker({ security: { anonymous: false } }));
    broker.security.putRole('line1-operator', 'watch plant, rebirth line1 only', [
      { actions: ['subscribe'], patterns: ['spBv1.0/plant/#'] },
      { actions: ['publish'], patterns: ['spBv1.0/plant/NCMD/line1'] },
    ]);
    await broker.security.createUser('operator', 'operator-password', ['line1-operator']);
  });
  after(() => cleanup());

  it('rebirth needs publish on that node’s NCMD topic, and state needs subscribe on the group', async () => {
    const operator = createHttpClient(broker.httpUrl, {
      auth: { username: 'operator', password: 'operator-password' },
    });
    const receipt = await operator.call('sparkplug.rebirth', { group: 'plant', node: 'line1' });
    assert.equal(receipt.topic, 'spBv1.0/plant/NCMD/line1');
    await assert.rejects(operator.call('sparkplug.rebirth', { group: 'plant', node: 'line2' }), /publish/);
    await operator.call('sparkplug.state', { group: 'plant' });
    await assert.rejects(operator.call('sparkplug.state', {}), /subscribe/);
    await assert.rejects(operator.call('sparkplug.state', { group: 'other' }), /subscribe/);
  });
});
