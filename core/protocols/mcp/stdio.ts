/**
 * `sluice mcp`: an MCP server on stdio for desktop MCP hosts, acting against a running broker
 * like the CLI. It first asks the broker who the credentials are (core/api/client.ts, so a bad
 * URL or password fails at once with the CLI's message), then relays every MCP message to the
 * broker's /mcp endpoint over Streamable HTTP with those credentials. The tools, resources and
 * prompts are therefore the broker's own: listed for the user's rights, authorized and audited
 * (protocol `mcp`) there, and never written twice.
 */
import type { Readable, Writable } from 'node:stream';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  InitializeResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { createHttpClient, type ClientAuth } from '../../api/client.ts';

/** Where the broker is and who to be there. */
export interface McpStdioOptions {
  /** The broker's base URL (as `--url`). */
  readonly url: string;
  readonly auth?: ClientAuth;
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  /** Diagnostics (stderr: stdout carries the protocol). */
  readonly log?: (line: string) => void;
}

/** Who the relay runs as, once the broker confirmed the credentials. */
export interface McpRelay {
  readonly user: string | null;
  readonly roles: readonly string[];
  /** Resolves when either side closed. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Checks the credentials, then relays stdio ↔ the broker's /mcp until either side closes. */
export async function runMcpStdio(options: McpStdioOptions): Promise<McpRelay> {
  const client = createHttpClient(options.url, { ...(options.auth && { auth: options.auth }) });
  // Throws ApiError (bad credentials) or BrokerUnreachableError before the host sees anything.
  const whoami = await client.call('auth.whoami', {});
  const log = options.log ?? (() => undefined);

  const upstream = new StreamableHTTPClientTransport(new URL('/mcp', `${client.baseUrl}/`), {
    requestInit: { headers: { ...(options.auth && { authorization: authorization(options.auth) }) } },
  });
  const local = new StdioServerTransport(options.stdin, options.stdout);
  /** Requests from the host still waiting for their answer: their ids, and which was initialize. */
  const pending = new Map<string | number, string>();
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await upstream.terminateSession().catch(() => undefined);
    await Promise.all([upstream.close(), local.close()]).catch(() => undefined);
    markClosed();
  };

  local.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message)) pending.set(message.id, message.method);
    upstream.send(message).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      log(`sluice mcp: the broker did not take a message: ${reason}`);
      if (!isJSONRPCRequest(message)) return;
      pending.delete(message.id);
      // The host waits on this id: answer it rather than leave it hanging.
      void local.send({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: -32000, message: `Sluice at ${client.baseUrl} did not answer: ${reason}` },
      });
    });
  };
  upstream.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && pending.get(message.id) === 'initialize') {
      // The SDK's Client does this after initialize; as a relay we do it for it.
      const result = InitializeResultSchema.safeParse(message.result);
      if (result.success) upstream.setProtocolVersion(result.data.protocolVersion);
    }
    if ('id' in message && message.id !== undefined && !isJSONRPCRequest(message)) pending.delete(message.id);
    void local.send(message);
  };
  upstream.onerror = (error) => log(`sluice mcp: ${error.message}`);
  local.onerror = (error) => log(`sluice mcp: ${error.message}`);
  local.onclose = () => void close();
  // The SDK's stdio transport does not notice the host closing stdin: that is the host's goodbye.
  (options.stdin ?? process.stdin).once('end', () => void close());
  upstream.onclose = () => void close();

  await upstream.start();
  await local.start();
  log(
    `sluice mcp: relaying stdio to ${client.baseUrl}/mcp as ${whoami.user ?? '(anonymous)'} (roles: ${whoami.roles.join(', ') || '-'})`,
  );
  return { user: whoami.user, roles: whoami.roles, closed, close };
}

function authorization(auth: ClientAuth): string {
  if ('token' in auth) return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}
