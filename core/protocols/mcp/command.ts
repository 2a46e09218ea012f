/**
 * The `sluice mcp` command (registered by core/cli.ts): an MCP server on stdio for a desktop
 * MCP host, authenticating against a running broker with --url/--auth/--token (or SLUICE_URL,
 * SLUICE_AUTH, SLUICE_TOKEN) like every client command. Stdout carries the protocol only;
 * diagnostics go to stderr.
 */
import type { Command } from 'commander';
import type { ClientAuth } from '../../api/client.ts';
import { SluiceError } from '../../errors.ts';
import { runMcpStdio } from './stdio.ts';

/** Adds `mcp` to the program; `setExit` receives 0 when the host closes the session. */
export function addMcpCommand(
  program: Command,
  io: { err(text: string): void },
  setExit: (code: number) => void,
): void {
  program
    .command('mcp')
    .description(
      'Run an MCP server on stdio for a local MCP host (AI agent), acting on the broker at --url as the --auth/--token user (docs/mcp.md)',
    )
    .action(async (_options: unknown, self: Command) => {
      const globals = self.optsWithGlobals<{ url: string; auth?: string; token?: string }>();
      const relay = await runMcpStdio({
        url: globals.url,
        ...(clientAuth(globals) && { auth: clientAuth(globals)! }),
        log: (line) => io.err(`${line}\n`),
      });
      const stop = () => void relay.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await relay.closed;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      setExit(0);
    });
}

function clientAuth(globals: { auth?: string; token?: string }): ClientAuth | undefined {
  if (globals.token !== undefined) return { token: globals.token };
  if (globals.auth === undefined) return undefined;
  const at = globals.auth.indexOf(':');
  if (at <= 0) throw new SluiceError('invalid-input', '--auth takes user:password');
  return { username: globals.auth.slice(0, at), password: globals.auth.slice(at + 1) };
}
