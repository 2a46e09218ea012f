// The MCP suite over Streamable HTTP at /mcp; plus what only HTTP has: session ownership, the
// body limit, live rights on an open session, and the summarised export.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { authorizationHeader, connectMcp, structured } from './mcp-helpers.ts';
import { mcpSuite, type User } from './mcp-suite.ts';

mcpSuite('http', (fixture) => {
  it('keeps a session to the user who opened it', async () => {
    const open = await fetch(`${fixture.broker.httpUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: authorizationHeader(fixture.auth.alice),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    assert.equal(open.status, 200);
    const session = open.headers.get('mcp-session-id')!;
    await open.body?.cancel();
    const list = (user: User) =>
      fetch(`${fixture.broker.httpUrl}/mcp`, {
        method: 'POST',
        headers: {
          authorization: authorizationHeader(fixture.auth[user]),
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': session,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
    const stranger = await list('bob');
    assert.equal(stranger.status, 404);
    await stranger.body?.cancel();
    const owner = await list('alice');
    assert.equal(owner.status, 200);
    await owner.body?.cancel();
    const unauthenticated = await fetch(`${fixture.broker.httpUrl}/mcp`, { method: 'POST', body: '{}' });
    assert.equal(unauthenticated.status, 401);
    assert.equal(unauthenticated.headers.get('content-type'), 'application/problem+json');
  });

  it('refuses an MCP request body over 4 MiB with 413, as the REST API does over its limit', async () => {
    const response = await fetch(`${fixture.broker.httpUrl}/mcp`, {
      method: 'POST',
      headers: { authorization: authorizationHeader(fixture.auth.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5 * 1024 * 1024) } }),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { code: string }).code, 'payload-too-large');
  });

  it('refuses a request from another web origin, credentials or not', async () => {
    const response = await fetch(`${fixture.broker.httpUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: authorizationHeader(fixture.auth.admin),
        origin: 'http://evil.example',
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { code: string }).code, 'not-authorized');
  });

  it('applies a change of roles to an open session at its next request', async () => {
    await fixture.broker.security.createUser('dave', 'dave-password', ['viewer']);
    const { client, close } = await connectMcp('http', fixture.broker.httpUrl, {
      user: 'dave',
      password: 'dave-password',
    });
    try {
      const before = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!before.includes('queues_create'));
      await fixture.broker.security.updateUser('dave', { roles: ['admin'] });
      const after = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(after.includes('queues_create'));
    } finally {
      await close();
    }
  });

  it('summarises a dead-message export instead of returning the file', async () => {
    await fixture.broker.service.call('queues.create', {
      name: 'export-me',
      subscriptions: ['exp/#'],
      maxRedelivery: 1,
    });
    for (let i = 0; i < 30; i++)
      await fixture.broker.service.call('messages.publish', { topic: 'exp/a', payload: 'p'.repeat(5000) });
    await fixture.broker.service.call('queues.purge', { name: 'export-me' });
    for (let i = 0; i < 30; i++)
      await fixture.broker.service.call('messages.publish', { topic: 'exp/a', payload: 'p'.repeat(5000) });
    for (;;) {
      const { messages } = await fixture.broker.service.call('queues.receive', { name: 'export-me', max: 100 });
      if (messages.length === 0) break;
      for (const m of messages)
        await fixture.broker.service.call('queues.reject', {
          name: 'export-me',
          deliveryId: m.deliveryId,
          error: 'nope',
        });
    }
    const client = await fixture.mcp('http', 'admin');
    const summary = structured<{ exported: number; byQueueAndReason: unknown[]; first: unknown[] }>(
      await client.callTool({ name: 'dmq_export', arguments: { queue: 'export-me' } }),
    );
    assert.equal(summary.exported, 30);
    assert.deepEqual(summary.byQueueAndReason, [{ queue: 'export-me', reason: 'rejected', count: 30 }]);
    assert.equal(summary.first.length, 10);
  });
});
