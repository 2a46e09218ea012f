/** What an operation of the contract is, and the permissions it may ask for. Browser-safe. */
import type { z } from 'zod';
import type { WireAction } from './wire.ts';
import type { ErrorCode } from '../../errors.ts';

// ── operations ───────────────────────────────────────────────────────────────────────

/** HTTP methods the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** How an operation is reached over HTTP. */
export interface HttpBinding {
  readonly method: HttpMethod;
  /**
   * Path under the server root; `:name` segments are input fields, `:id:cancel` a param plus a
   * verb, and `:topic*` a field spanning the rest of the path, slashes included.
   */
  readonly path: string;
  /** Success status (default 200). */
  readonly status?: 200 | 201;
  /**
   * `raw`: the request body is the message payload and headers carry its properties
   * (topics.publish; the HTTP door maps them, see docs/http.md). Default: a JSON object.
   */
  readonly body?: 'json' | 'raw';
}

/**
 * What a caller needs to run an operation (docs/security.md). `public`: nothing, not even
 * credentials (health, login, first-run setup). `authenticated`: any principal the policy lets
 * in. `acl`: `action` on every resource `resources(input)` names (topics, filters, queue names,
 * or `$security` / `$connections` for user and connection management).
 */
export type Permission<Input = never> =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | {
      readonly kind: 'acl';
      readonly action: WireAction;
      resources(input: Input): readonly string[];
    };

export const publicAccess = { kind: 'public' } as const;
export const authenticated = { kind: 'authenticated' } as const;
export const everything = () => ['#'];
export const securityResource = () => ['$security'];
export const connectionsResource = () => ['$connections'];
export const demoResource = () => ['$demo'];

/**
 * Export, import and backup cover every queue and the security store: `manage` on both
 * (`#` does not match `$security`, DESIGN.md: `$…` resources).
 */
export const configResources = () => ['#', '$security'];

/** One API operation, declared as data. */
export interface Operation<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly summary: string;
  readonly input: I;
  /** For `ndjson` operations: the schema of one line. */
  readonly output: O;
  /** Codes this operation answers with besides the common ones. */
  readonly errors: readonly ErrorCode[];
  readonly http: HttpBinding;
  /** Who may run it; enforced by the service for every transport (HTTP, IPC, CLI). */
  readonly permission: Permission<z.output<I>>;
  /**
   * `ndjson`: the answer is a stream of lines (large exports), not one JSON document.
   * `events`: a live subscription; `output` is the schema of one event (HTTP: server-sent events).
   */
  readonly response?: ResponseKind;
}

/** How an operation answers: one JSON document, NDJSON lines, or live events. */
export type ResponseKind = 'json' | 'ndjson' | 'events';

/** Codes any operation may answer with. */
export const commonErrors: readonly ErrorCode[] = ['invalid-input', 'broker-closing', 'store-error', 'internal'];

/** Declares an operation, keeping its schemas' and response kind's exact types. */
export function operation<I extends z.ZodType, O extends z.ZodType, R extends ResponseKind = 'json'>(
  op: Operation<I, O> & { readonly response?: R },
): Operation<I, O> & { readonly response?: R } {
  return op;
}

export const api = '/api/v1';
