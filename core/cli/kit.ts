/**
 * The CLI's shared kit: the usage error, table and detail formatting, and client commands
 * declared against the contract with their options derived from its input schemas (STYLE.md §9).
 * It depends only on commander, the error catalog and the contract (its layer zone, `cli`, allows
 * nothing of the broker itself).
 */
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { SluiceError } from '../errors.ts';
import { ApiError, type HttpClient } from '../api/client.ts';
import {
  contract,
  fieldType,
  parseInput,
  type OperationInput,
  type OperationName,
  type OperationOutput,
  type Rates,
  type UnaryOperationName,
  type WireMessage,
} from '../api/contract.ts';

/** Bad command-line use found after parsing (exit 2). */
export class UsageError extends Error {}

// ── tiny formatting kit ──────────────────────────────────────────────────────────────

/** Aligns rows under headers; numbers are right-aligned. */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [headers.map(String), ...rows.map((row) => row.map(String))];
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Key/value lines, keys aligned. */
export function details(rows: ReadonlyArray<readonly [string, string | number]>): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

export const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
export const rate = (perSec: number) => perSec.toFixed(1);
export const rates = (r: Rates) =>
  `in ${rate(r.inPerSec)}/s · out ${rate(r.outPerSec)}/s · dead ${rate(r.deadPerSec)}/s`;

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function preview(message: WireMessage, width = 40): string {
  const text = message.payloadEncoding === 'utf8' ? JSON.stringify(message.payload) : `base64:${message.payload}`;
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

// ── options derived from input schemas ───────────────────────────────────────────────

/**
 * The contract marks a time by its description, "(ms since epoch)": the HTTP API takes numbers
 * there, the CLI also takes ISO 8601 (what people type), and its help says so.
 */
const epochNote = '(ms since epoch)';
const isTime = (schema: z.ZodType) => schema.description?.includes(epochNote) === true;
/** The help text of a time option: what parseTime accepts. */
export const timeHelp = (about: string) =>
  about.replace(epochNote, '(ISO 8601 such as 2026-12-05T06:00:00Z, or ms since epoch)');

export const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function parseTime(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`"${text}" is not a time: use ISO 8601 (2024-05-01T12:00:00Z) or ms`);
  return ms;
}

/** Adds one option per input field (except `skip`): typed parsing, enum choices, repeatable lists. */
export function deriveOptions(cmd: Command, shape: Record<string, z.ZodType>, skip: readonly string[] = []): string[] {
  const fields = Object.keys(shape).filter((field) => !skip.includes(field));
  for (const field of fields) {
    const { type: kind, values, nullable } = fieldType(shape[field]!);
    const flag = `--${kebab(field)}`;
    const timeOption = isTime(shape[field]!);
    const about = timeOption ? timeHelp(shape[field]!.description!) : (shape[field]!.description ?? '');
    if (kind === 'boolean') {
      cmd.addOption(new Option(flag, about));
      cmd.addOption(new Option(`--no-${kebab(field)}`).hideHelp());
    } else if (kind === 'array')
      cmd.addOption(
        new Option(`${flag} <value>`, `${about} (repeatable)`.trim()).argParser((value, previous: string[] = []) => [
          ...previous,
          value,
        ]),
      );
    else if (kind === 'record')
      cmd.addOption(
        new Option(`${flag} <key=value>`, `${about} (repeatable)`.trim()).argParser(
          (pair, previous: Record<string, string> = {}) => {
            const at = pair.indexOf('=');
            if (at <= 0) throw new UsageError(`${flag} takes key=value, got "${pair}"`);
            return { ...previous, [pair.slice(0, at)]: pair.slice(at + 1) };
          },
        ),
      );
    else if (kind === 'number') {
      const hint = timeOption ? '<time>' : nullable ? '<n|none>' : '<n>';
      cmd.addOption(
        new Option(`${flag} ${hint}`, about).argParser((text): number | string | null => {
          if (timeOption) return parseTime(text);
          if (nullable && (text === 'none' || text === 'null')) return null;
          return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text; // zod explains the rest
        }),
      );
    } else {
      const option = new Option(`${flag} <${kind === 'enum' ? 'choice' : 'text'}>`, about);
      cmd.addOption(values ? option.choices(values) : option);
    }
  }
  return fields;
}

/** The derived fields the user actually gave. */
export function pick(options: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((field) => options[field] !== undefined).map((f) => [f, options[f]]));
}

export function inputShape(name: OperationName): Record<string, z.ZodType> {
  const schema = contract[name].input as z.ZodType;
  return 'shape' in schema ? (schema.shape as Record<string, z.ZodType>) : {};
}

// ── client commands, declared against the contract ───────────────────────────────────

/** What a command handler gets. */
export interface Invocation {
  readonly client: HttpClient;
  readonly args: Record<string, unknown>;
  readonly options: Record<string, unknown>;
  readonly json: boolean;
}

/** One client command: which operation it runs, how it builds the input, how it prints. */
export interface ClientCommand<N extends UnaryOperationName> {
  /** e.g. ['queues', 'list']. */
  readonly words: readonly string[];
  readonly op: N;
  /** Positional arguments, commander syntax; each names an input field (`<name>`, `[payload]`). */
  readonly args?: readonly string[];
  /** Derive options from the input schema's remaining fields (default true). */
  readonly derive?: boolean;
  /** Options beyond the derived ones. */
  readonly extra?: (cmd: Command) => void;
  /** Builds the input; default: positional args plus derived options. */
  readonly input?: (args: Record<string, unknown>, options: Record<string, unknown>) => OperationInput<N>;
  readonly human: (output: OperationOutput<N>) => string;
  /**
   * Input paths named by this command's own flags, for errors (`start.id` → `--from-id`).
   * Derived options and positional arguments are named without it.
   */
  readonly flags?: Readonly<Record<string, string>>;
  /** What to add, in the CLI's words, when the broker refuses with a given code. */
  readonly hints?: Readonly<Partial<Record<string, string>>>;
  /** Runs after the call (e.g. `--wait`); returns the output to print. */
  readonly follow?: (output: OperationOutput<N>, run: Invocation) => Promise<OperationOutput<N>>;
}

export function command<N extends UnaryOperationName>(spec: ClientCommand<N>): ClientCommand<UnaryOperationName> {
  return spec as unknown as ClientCommand<UnaryOperationName>;
}

/** Writes output; tests and the bin launcher use the process's streams. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Runs a client command's work with a connected client and prints what it returns. */
export type RunClient = (cmd: Command, work: (invocation: Invocation) => Promise<string>) => Promise<void>;

/**
 * Says an input problem in the command's words: `filter.deadFrom: …` becomes `--dead-from: …`,
 * `start.id: …` the command's own flag, a positional argument `<id>`.
 */
export function inFlagWords(detail: string, spec: ClientCommand<UnaryOperationName>, positional: readonly string[]) {
  return detail
    .split('; ')
    .map((issue) => {
      const at = issue.indexOf(': ');
      if (at <= 0) return issue;
      const path = issue.slice(0, at);
      const field = path.split('.').pop()!;
      const flag =
        spec.flags?.[path] ??
        (positional.includes(field) ? `<${field}>` : /^[a-z][A-Za-z]*$/.test(field) ? `--${kebab(field)}` : path);
      return `${flag}${issue.slice(at)}`;
    })
    .join('; ');
}

/** Adds one contract-derived client command under `parent`. */
export function addClientCommand(parent: Command, spec: ClientCommand<UnaryOperationName>, run: RunClient): void {
  const cmd = parent.command(spec.words[spec.words.length - 1]!).description(contract[spec.op].summary);
  for (const arg of spec.args ?? []) cmd.argument(arg);
  const positional = (spec.args ?? []).map((arg) => arg.replace(/[<>[\].]/g, ''));
  const derived = spec.derive === false ? [] : deriveOptions(cmd, inputShape(spec.op), positional);
  spec.extra?.(cmd);
  cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    const args = Object.fromEntries(
      positional.map((name, i) => [name, params[i]]).filter(([, value]) => value !== undefined),
    );
    await run(self, async (invocation) => {
      const input = spec.input
        ? spec.input(args, invocation.options)
        : { ...pick(invocation.options, derived), ...args };
      try {
        parseInput(spec.op, input); // same validation as the broker: bad input is a usage error here
      } catch (error) {
        if (!(error instanceof SluiceError)) throw error;
        throw new SluiceError(error.code, inFlagWords(error.detail, spec, positional), error.data);
      }
      let output: OperationOutput<UnaryOperationName>;
      try {
        output = await invocation.client.call(spec.op, input as never);
      } catch (error) {
        const hint = error instanceof ApiError ? spec.hints?.[error.code] : undefined;
        if (hint === undefined || !(error instanceof ApiError)) throw error;
        throw new ApiError(error.status, error.code, error.title, `${error.detail}: ${hint}`, error.data);
      }
      const shown = spec.follow ? await spec.follow(output, { ...invocation, args }) : output;
      return invocation.json ? JSON.stringify(shown, null, 2) : spec.human(shown);
    });
  });
}
