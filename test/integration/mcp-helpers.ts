// MCP clients for tests: the SDK's own Client over Streamable HTTP (/mcp) and over stdio
// (`sluice mcp` as a real child process relaying to the broker).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The two ways a host reaches Sluice over MCP. */
export type McpDoor = 'http' | 'stdio';

/** Credentials as the CLI takes them. */
export type TestAuth = { readonly user: string; readonly password: string } | { readonly token: string };

/** Basic or Bearer, as HTTP carries it. */
export function authorizationHeader(auth: TestAuth): string {
  return 'token' in auth
    ? `Bearer ${auth.token}`
    : `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
}

/** An MCP client connected through `door` as `auth`; `stderr()` is the stdio relay's diagnostics. */
export async function connectMcp(
  door: McpDoor,
  baseUrl: string,
  auth: TestAuth,
): Promise<{ client: Client; stderr: () => string; close: () => Promise<void> }> {
  const client = new Client({ name: 'sluice-test', version: '1.0.0' });
  let stderr = '';
  if (door === 'http') {
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), {
      requestInit: { headers: { authorization: authorizationHeader(auth) } },
    });
    await client.connect(transport);
    return {
      client,
      stderr: () => stderr,
      close: async () => {
        await transport.terminateSession().catch(() => undefined);
        await client.close();
      },
    };
  }
  const credentials = 'token' in auth ? ['--token', auth.token] : ['--auth', `${auth.user}:${auth.password}`];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', 'core/cli.ts', '--url', baseUrl, ...credentials, 'mcp'],
    env: { PATH: process.env.PATH ?? '' },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** A tool's structured answer (fails the test when the tool answered an error). */
export function structured<T = Record<string, unknown>>(result: unknown): T {
  const call = result as CallToolResult;
  if (call.isError) throw new Error(`tool failed: ${JSON.stringify(call.content)}`);
  return call.structuredContent as T;
}

/** A tool's error (fails the test when the tool succeeded). */
export function toolError(result: unknown): { code: string; status: number; detail: string } {
  const call = result as CallToolResult;
  if (!call.isError) throw new Error(`tool succeeded: ${JSON.stringify(call.structuredContent)}`);
  return (call.structuredContent as { error: { code: string; status: number; detail: string } }).error;
}
