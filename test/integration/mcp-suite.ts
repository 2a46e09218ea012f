// The MCP door's contract suite, run over Streamable HTTP (/mcp, mcp-http.test.ts) and over stdio
// (`sluice mcp` as a child process, mcp-stdio.test.ts) with the SDK's own client (STYLE.md §12).
// Tools come from the contract, rights are the user's, refusals match the REST API's, and every
// call is audited.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { contract, type OperationName } from '../../core/api/contract.ts';
import type { Broker } from '../../core/broker.ts';
import { toolOperations } from '../../core/protocols/mcp/tools.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { authorizationHeader, connectMcp, structured, toolError, type McpDoor, type TestAuth } from './mcp-helpers.ts';

export const passwords = { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' } as const;
export type User = 'admin' | keyof typeof passwords;

/** The publish and subscribe rows of security-matrix.test.ts's table: [user, action, resource, allowed]. */
const matrix: ReadonlyArray<readonly [User, 'publish' | 'subscribe', string, boolean]> = [
  ['alice', 'publish', 'plant/a/temp', true],
  ['alice', 'publish', 'office/a', false],
  ['alice', 'subscribe', 'plant/#', true],
  ['alice', 'subscribe', '#', false],
  ['bob', 'publish', 'plant/a/temp', false],
  ['bob', 'subscribe', 'plant/#', true],
  ['bob', 'subscribe', '#', true],
  ['carol', 'publish', 'plant/a/temp', false],
  ['carol', 'subscribe', 'plant/+/temp', false],
  ['carol', 'publish', 'users/carol/inbox', true],
  ['carol', 'publish', 'users/alice/inbox', false],
];

/** Runs the CLI as its own process with stdin closed; never rejects, so exit codes can be asserted. */

/** The broker, users and clients a suite's tests share. */
export interface McpFixture {
  readonly broker: Broker;
  readonly auth: Record<User, TestAuth>;
  /** One MCP session per door and user, opened on first use. */
  mcp(door: McpDoor, user: User): Promise<Client>;
  /** The same operation over the REST API, as `user`: status and problem body. */
  rest(
    user: User,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** Defines the MCP suite for one door; `more` adds that door's own tests on the same broker. */
export function mcpSuite(door: McpDoor, more?: (fixture: McpFixture) => void): void {
  describe(`MCP over ${door === 'http' ? 'Streamable HTTP' : 'stdio (sluice mcp)'}`, () => {
    let broker: Broker;
    let cleanup: () => Promise<void>;
    let auth: Record<User, TestAuth>;
    const clients = new Map<string, { client: Client; close: () => Promise<void> }>();

    before(async () => {
      ({ broker, cleanup } = await startTestBroker(
        { security: { anonymous: false }, queues: [{ name: 'orders', subscriptions: ['plant/+/orders'] }] },
        { rateIntervalMs: 50 },
      ));
      const { security } = broker;
      security.putRole('plant-publisher', 'publish to the plant', [{ actions: ['publish'], patterns: ['plant/#'] }]);
      security.putRole('plant-consumer', 'plant topics and the orders queue', [
        { actions: ['subscribe'], patterns: ['plant/#'] },
        { actions: ['consume'], patterns: ['orders'] },
      ]);
      security.putRole('own-inbox', 'each user publishes to their own inbox', [
        { actions: ['publish'], patterns: ['users/${user}/#'] },
      ]);
      await security.createUser('alice', passwords.alice, ['plant-publisher', 'plant-consumer']);
      await security.createUser('bob', passwords.bob, ['viewer']);
      await security.createUser('carol', passwords.carol, ['own-inbox']);
      auth = {
        admin: { user: 'admin', password: broker.firstRunAdmin!.password },
        alice: { user: 'alice', password: passwords.alice },
        bob: { user: 'bob', password: passwords.bob },
        // A bearer token works like Basic credentials, on both doors.
        carol: { token: security.issueToken('carol').token },
      };
      // Every user's session opened together: a stdio session is a child process whose start dominates.
      await Promise.all((Object.keys(auth) as User[]).map((user) => mcp(door, user)));
    });
    after(async () => {
      for (const { close } of clients.values()) await close();
      await cleanup();
    });

    /** One MCP session per door and user, opened on first use. */
    async function mcp(door: McpDoor, user: User): Promise<Client> {
      const key = `${door}/${user}`;
      if (!clients.has(key)) clients.set(key, await connectMcp(door, broker.httpUrl, auth[user]));
      return clients.get(key)!.client;
    }

    /** The same operation over the REST API, as `user`: status and problem body. */
    async function rest(user: User, method: string, path: string, body?: unknown) {
      const response = await fetch(`${broker.httpUrl}${path}`, {
        method,
        headers: {
          authorization: authorizationHeader(auth[user]),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }

    const fixture: McpFixture = {
      get broker() {
        return broker;
      },
      get auth() {
        return auth;
      },
      mcp,
      rest,
    };
    it('lists one tool per agent operation, named, described and typed by the contract', async () => {
      const { tools } = await (await mcp(door, 'admin')).listTools();
      const operations = Object.keys(toolOperations) as OperationName[];
      assert.deepEqual(tools.map((t) => t.name).sort(), operations.map((op) => op.replaceAll('.', '_')).sort());
      for (const operation of operations) {
        const tool = tools.find((t) => t.name === operation.replaceAll('.', '_'))!;
        const { $schema: _dialect, ...expected } = z.toJSONSchema(contract[operation].input, {
          io: 'input',
          unrepresentable: 'any',
        }) as Record<string, unknown>;
        assert.deepEqual(tool.inputSchema, expected, `${tool.name}'s input schema is the contract's`);
        assert.ok(tool.description?.startsWith(contract[operation].summary), `${tool.name}'s description`);
      }
    });

    it('marks reads read-only and purge, delete and disconnect destructive', async () => {
      const { tools } = await (await mcp(door, 'admin')).listTools();
      for (const tool of tools) {
        const operation = tool.name.replace('_', '.') as OperationName;
        assert.equal(tool.annotations?.readOnlyHint, contract[operation].http.method === 'GET', tool.name);
        assert.equal(tool.annotations?.destructiveHint, /purge|delete|disconnect/.test(tool.name), tool.name);
      }
    });

    it('answers read tools with the broker state', async () => {
      const client = await mcp(door, 'admin');
      const stats = structured<{ queues: Array<{ name: string }> }>(
        await client.callTool({ name: 'stats_get', arguments: {} }),
      );
      assert.ok(stats.queues.some((q) => q.name === 'orders'));
      const queue = structured<{ name: string; config: { subscriptions: string[] } }>(
        await client.callTool({ name: 'queues_get', arguments: { name: 'orders' } }),
      );
      assert.deepEqual(queue.config.subscriptions, ['plant/+/orders']);
      const counts = structured<{ total: number; byReason: unknown[] }>(
        await client.callTool({ name: 'dmq_counts', arguments: {} }),
      );
      assert.equal(typeof counts.total, 'number');
      assert.ok(Array.isArray(counts.byReason));
    });

    it('runs write tools as admin: create, publish, purge, delete', async () => {
      const client = await mcp(door, 'admin');
      const name = `mcp-${door}`;
      await client.callTool({ name: 'queues_create', arguments: { name, subscriptions: [`mcp/${door}/#`] } });
      const receipt = structured<{ queues: string[] }>(
        await client.callTool({ name: 'messages_publish', arguments: { topic: `mcp/${door}/a`, payload: 'hello' } }),
      );
      assert.deepEqual(receipt.queues, [name]);
      assert.equal(broker.engine.getQueue(name).depth, 1);
      const purged = structured<{ purged: number }>(
        await client.callTool({ name: 'queues_purge', arguments: { name } }),
      );
      assert.equal(purged.purged, 1);
      await client.callTool({ name: 'queues_delete', arguments: { name } });
      assert.ok(!broker.engine.listQueues().some((q) => q.name === name));
    });

    it('shows a limited user only the tools its roles allow', async () => {
      const viewer = (await (await mcp(door, 'bob')).listTools()).tools.map((t) => t.name);
      for (const read of ['stats_get', 'queues_list', 'dmq_list', 'topics_tree'])
        assert.ok(viewer.includes(read), `viewer sees ${read}`);
      // `$connections` is a `$` resource: the viewer's `#` does not cover it (docs/security.md).
      for (const hidden of [
        'queues_create',
        'queues_purge',
        'dmq_redeliver',
        'messages_publish',
        'audit_list',
        'connections_list',
      ])
        assert.ok(!viewer.includes(hidden), `viewer does not see ${hidden}`);
      const inbox = (await (await mcp(door, 'carol')).listTools()).tools.map((t) => t.name);
      assert.deepEqual(inbox.sort(), ['auth_whoami', 'messages_publish']);
    });

    it('refuses a limited user exactly as the REST API does', async () => {
      const over = toolError(
        await (await mcp(door, 'bob')).callTool({ name: 'queues_create', arguments: { name: 'bobs' } }),
      );
      const http = await rest('bob', 'POST', '/api/v1/queues', { name: 'bobs' });
      assert.deepEqual(over, {
        code: http.body.code,
        status: http.status,
        detail: http.body.detail,
        title: http.body.title,
      });
      assert.equal(over.code, 'not-authorized');
      for (const [user, action, resource, allowed] of matrix) {
        const client = await mcp(door, user);
        const result =
          action === 'publish'
            ? await client.callTool({ name: 'messages_publish', arguments: { topic: resource } })
            : await client.callTool({ name: 'topics_tree', arguments: { filter: resource } });
        assert.equal(result.isError !== true, allowed, `${user} ${action} ${resource} over MCP`);
        const viaRest =
          action === 'publish'
            ? await rest(user, 'POST', '/api/v1/messages', { topic: resource })
            : await rest(user, 'GET', `/api/v1/topics:tree?filter=${encodeURIComponent(resource)}`);
        assert.equal(viaRest.status < 300, allowed, `${user} ${action} ${resource} over REST`);
        if (!allowed) assert.equal(toolError(result).detail, viaRest.body.detail);
      }
    });

    it('writes every call to the audit log with protocol mcp', async () => {
      const client = await mcp(door, 'bob');
      await client.callTool({ name: 'stats_get', arguments: {} });
      await client.callTool({ name: 'queues_purge', arguments: { name: 'orders' } });
      const { body } = await rest('admin', 'GET', '/api/v1/audit?user=bob&limit=1000');
      const records = (body.records as Array<{ protocol: string; operation: string; result: string }>).filter(
        (r) => r.protocol === 'mcp',
      );
      assert.ok(records.some((r) => r.operation === 'stats.get' && r.result === 'ok'));
      assert.ok(records.some((r) => r.operation === 'queues.purge' && r.result === 'refused'));
    });

    it('offers the overview, each queue and the dead messages per reason as resources, with change notifications', async () => {
      const client = await mcp(door, 'admin');
      const { resources } = await client.listResources();
      const uris = resources.map((r) => r.uri);
      for (const uri of ['sluice://overview', 'sluice://dead-messages', 'sluice://queues/orders'])
        assert.ok(uris.includes(uri), uri);
      const read = await client.readResource({ uri: 'sluice://queues/orders' });
      const queue = JSON.parse((read.contents[0] as { text: string }).text) as { name: string; depth: number };
      assert.equal(queue.name, 'orders');
      const updated: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
      await client.subscribeResource({ uri: 'sluice://queues/orders' });
      await broker.service.call('messages.publish', { topic: `plant/${door}/orders`, payload: 'x' });
      await waitFor(() => updated.includes('sluice://queues/orders'), {
        what: 'a resources/updated notification',
        timeoutMs: 10_000,
      });
      await client.unsubscribeResource({ uri: 'sluice://queues/orders' });
      // The read behind the subscription is audited; the once-a-second checks are not.
      const records = [...broker.security.audit.all({ user: 'admin' })];
      assert.ok(records.some((r) => r.protocol === 'mcp' && r.operation === 'queues.get'));
      assert.ok(records.every((r) => r.protocol !== 'mcp-subscription'));
      // A user who may not browse the queue cannot read it or subscribe to it.
      await assert.rejects(
        (await mcp(door, 'carol')).readResource({ uri: 'sluice://queues/orders' }),
        /not-authorized|may not browse/,
      );
    });

    it('offers prompts for dead messages, replays and bridges', async () => {
      const client = await mcp(door, 'admin');
      const { prompts } = await client.listPrompts();
      assert.deepEqual(prompts.map((p) => p.name).sort(), ['check-bridge', 'explain-dead-messages', 'plan-replay']);
      const prompt = await client.getPrompt({ name: 'explain-dead-messages', arguments: { queue: 'quality' } });
      const text = (prompt.messages[0]!.content as { text: string }).text;
      assert.match(text, /dmq_list with queue "quality"/);
    });

    it('previews large payloads and pages long lists instead of dumping them', async () => {
      const client = await mcp(door, 'admin');
      const name = `big-${door}`;
      await broker.service.call('queues.create', { name, subscriptions: [`big/${door}`] });
      await broker.service.call('messages.publish', { topic: `big/${door}`, payload: 'x'.repeat(200_000) });
      for (let i = 0; i < 120; i++)
        await broker.service.call('messages.publish', { topic: `big/${door}`, payload: `${i}`.padEnd(1000, '.') });
      const result = await client.callTool({ name: 'queues_browse', arguments: { name, limit: 1000 } });
      const text = (result.content as Array<{ text: string }>)[0]!.text;
      assert.ok(Buffer.byteLength(text) < 32 * 1024, `answer is ${Buffer.byteLength(text)} bytes`);
      const page = structured<{
        messages: Array<{
          entryId: string;
          message: { payload: string; payloadBytes: number; payloadTruncated?: boolean };
        }>;
        nextAfterEntryId: string | null;
        truncated: { shown: number; total: number };
      }>(result);
      assert.equal(page.messages[0]!.message.payloadBytes, 200_000);
      assert.equal(page.messages[0]!.message.payloadTruncated, true);
      assert.ok(page.messages[0]!.message.payload.length <= 256);
      assert.equal(page.truncated.total, 121);
      assert.ok(page.messages.length < 121);
      assert.equal(page.nextAfterEntryId, page.messages[page.messages.length - 1]!.entryId);
      const next = structured<{ messages: Array<{ entryId: string }> }>(
        await client.callTool({ name: 'queues_browse', arguments: { name, afterEntryId: page.nextAfterEntryId! } }),
      );
      assert.equal(Number(next.messages[0]!.entryId) > Number(page.nextAfterEntryId), true);
    });
    more?.(fixture);
  });
}
