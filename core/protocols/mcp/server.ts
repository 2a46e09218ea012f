/**
 * One MCP server session over the service (DESIGN.md: MCP is another adapter generated from the
 * contract). Every request carries the caller's context, established by the transport for that
 * very request (rights are live): tools and resources are listed for it, and every call runs
 * through `service.call` as it, so authorize() and the audit log see protocol `mcp`.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  McpError,
  ErrorCode as RpcErrorCode,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallContext, Service } from '../../api/service.ts';
import { toSluiceError } from '../../errors.ts';
import { getPrompt, prompts } from './prompts.ts';
import { fingerprint, listQueueResources, queueTemplate, readResource, staticResources } from './resources.ts';
import { defaultResultLimits, type ResultLimits } from './results.ts';
import { callTool, listTools } from './tools.ts';

/** How an MCP session is set up. */
export interface McpSessionOptions {
  readonly version: string;
  /** The caller of the request being handled (from the transport's per-request authentication). */
  readonly contextOf: (extra: { authInfo?: { extra?: Record<string, unknown> } }) => CallContext;
  readonly limits?: ResultLimits;
  /** How often subscribed resources are checked for changes (default 1 s). */
  readonly pollMs?: number;
}

/** A session's server and its subscription poller. */
export interface McpSession {
  readonly server: Server;
  /** Stops polling subscriptions (the transport is closed by its owner). */
  stop(): void;
}

/** The instructions a host shows its model: what Sluice is and how to act with it. */
const instructions = [
  'Sluice is the message broker on this line. The tools act on it with the rights of the user this session runs as.',
  'Read before you change: stats_get, queues_list, dmq_counts and the sluice:// resources show the state.',
  'Answers are paged and payloads are previews: follow next… cursors, and ask for one message (dmq_get) when you need more of it.',
  'Ask the user before anything marked destructive (purge, delete, disconnect), and before redelivering or replaying.',
].join(' ');

/** Builds an MCP server for one session. */
export function createMcpSession(service: Service, options: McpSessionOptions): McpSession {
  const limits = options.limits ?? defaultResultLimits;
  const server = new Server(
    { name: 'sluice', title: 'Sluice broker', version: options.version },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { subscribe: true, listChanged: false },
        prompts: { listChanged: false },
      },
      instructions,
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => ({
    tools: listTools(service, options.contextOf(extra).principal),
  }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    callTool(service, options.contextOf(extra), request.params.name, request.params.arguments, limits),
  );

  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => ({
    resources: [...staticResources, ...(await listQueueResources(service, options.contextOf(extra)))],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [queueTemplate] }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    const value = await asRpc(() => readResource(service, options.contextOf(extra), uri));
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value) }] };
  });

  // Subscriptions: the subscriber's context is kept and re-checked on every poll.
  const subscriptions = new Map<string, { context: CallContext; last: string }>();
  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const { uri } = request.params;
    const asked = options.contextOf(extra);
    await asRpc(() => readResource(service, asked, uri)); // refused: no subscription (and audited)
    // The once-a-second checks are the broker's, not the agent's acts: same rights, not audited.
    const context = { ...asked, principal: { ...asked.principal, protocol: 'mcp-subscription' } };
    subscriptions.set(uri, { context, last: await asRpc(() => fingerprint(service, context, uri)) });
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
  let polling = false;
  const poller = setInterval(() => {
    if (polling || subscriptions.size === 0) return;
    polling = true;
    void (async () => {
      for (const [uri, subscription] of subscriptions) {
        const now = await fingerprint(service, subscription.context, uri).catch(() => undefined);
        if (now === undefined || now === subscription.last) continue;
        subscription.last = now;
        await server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    })().finally(() => (polling = false));
  }, options.pollMs ?? 1000);
  poller.unref();

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts }));
  server.setRequestHandler(GetPromptRequestSchema, (request) =>
    asRpc(() => getPrompt(request.params.name, request.params.arguments)),
  );

  return {
    server,
    stop: () => {
      clearInterval(poller);
      subscriptions.clear();
    },
  };
}

/** Runs `work`, turning a SluiceError into a JSON-RPC error that keeps its code and detail. */
async function asRpc<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (thrown) {
    const error = toSluiceError(thrown);
    const rpcCode =
      error.code === 'invalid-input' ? RpcErrorCode.InvalidParams : error.code === 'internal' ? -32603 : -32000;
    throw new McpError(rpcCode, `${error.mapping.title}: ${error.detail}`, {
      code: error.code,
      status: error.mapping.http,
      detail: error.detail,
    });
  }
}
