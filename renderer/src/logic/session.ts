/**
 * Who the window is logged in as, and what to show before it is (docs/ui.md: Login). A pure
 * state machine so the gate's rules are tested without a browser:
 *
 *   checking ─status─▶ setup | login | anonymous
 *   checking ─stored session, whoami agrees─▶ ready
 *   login/setup ─token─▶ ready ─401 or expiry─▶ login (expired) ─token─▶ ready
 *   ready ─logout─▶ login (logged-out)
 *
 * The same in a browser tab and in the desktop window. Over HTTP the bearer token lives in
 * sessionStorage (this tab only; closing it ends the session). Over IPC the main process keeps
 * the token (electron/ipc.ts) and the window stores only who it is and until when: the token
 * field then holds a placeholder that is no credential.
 */
import { ApiError } from '../../../core/api/client.ts';

/** A logged-in user and the token the window sends. */
export interface Session {
  readonly token: string;
  readonly user: string;
  readonly expiresAt: number;
}

/** Why the login page is shown. */
export type LoginReason = 'start' | 'expired' | 'logged-out';

/** What the gate shows. */
export type GateState =
  | { readonly kind: 'checking' }
  | { readonly kind: 'unreachable'; readonly detail: string }
  | { readonly kind: 'setup' }
  | { readonly kind: 'login'; readonly reason: LoginReason; readonly user?: string }
  /** Anonymous access is on: no login needed (a lab broker). */
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'ready'; readonly session: Session; readonly roles: readonly string[] };

/** What happens to the gate. */
export type GateEvent =
  | { readonly type: 'status'; readonly setupRequired: boolean; readonly anonymous: boolean }
  | { readonly type: 'unreachable'; readonly detail: string }
  | { readonly type: 'logged-in'; readonly session: Session; readonly roles: readonly string[] }
  /** A call answered 401 (token expired or revoked), or the token's expiry time passed. */
  | { readonly type: 'unauthenticated' }
  | { readonly type: 'logout' };

export const initialGate: GateState = { kind: 'checking' };

/** The gate's one transition function. */
export function gateReducer(state: GateState, event: GateEvent): GateState {
  switch (event.type) {
    case 'status':
      if (state.kind === 'ready') return state;
      if (event.setupRequired) return { kind: 'setup' };
      if (event.anonymous) return { kind: 'anonymous' };
      return state.kind === 'login' ? state : { kind: 'login', reason: 'start' };
    case 'unreachable':
      return state.kind === 'checking' || state.kind === 'unreachable'
        ? { kind: 'unreachable', detail: event.detail }
        : state;
    case 'logged-in':
      return { kind: 'ready', session: event.session, roles: event.roles };
    case 'unauthenticated':
      // Late 401s from the views of a session already over change nothing.
      return state.kind === 'ready' ? { kind: 'login', reason: 'expired', user: state.session.user } : state;
    case 'logout':
      return state.kind === 'ready' ? { kind: 'login', reason: 'logged-out', user: state.session.user } : state;
  }
}

/** Whether the views may be shown (and the live stream opened). */
export function gateOpen(state: GateState): boolean {
  return state.kind === 'ready' || state.kind === 'anonymous';
}

// ── the stored token ──────────────────────────────────────────────────────────────────

const storageKey = 'sluice.session';

/** The session this tab stored, if it is well-formed and not expired. */
export function loadSession(storage: Pick<Storage, 'getItem'>, now = Date.now()): Session | undefined {
  try {
    const parsed = JSON.parse(storage.getItem(storageKey) ?? 'null') as Partial<Session> | null;
    if (
      parsed &&
      typeof parsed.token === 'string' &&
      typeof parsed.user === 'string' &&
      typeof parsed.expiresAt === 'number' &&
      parsed.expiresAt > now
    )
      return { token: parsed.token, user: parsed.user, expiresAt: parsed.expiresAt };
  } catch {
    // Not ours or corrupted: as good as none.
  }
  return undefined;
}

export function saveSession(storage: Pick<Storage, 'setItem' | 'removeItem'>, session: Session | undefined): void {
  if (session) storage.setItem(storageKey, JSON.stringify(session));
  else storage.removeItem(storageKey);
}

/**
 * Whether a stored session still holds: the broker (or, in the desktop window, the main process
 * keeping the token) answers `auth.whoami` with the same user. Anonymous (null) or another user
 * means the login is gone.
 */
export function sessionStillValid(stored: Session, who: { readonly user: string | null }): boolean {
  return who.user === stored.user;
}

/** How long until the token expires (for the expiry timer); never negative, capped for setTimeout. */
export function msUntilExpiry(session: Session, now = Date.now()): number {
  return Math.min(2 ** 31 - 1, Math.max(0, session.expiresAt - now));
}

// ── what to say when the broker refuses ───────────────────────────────────────────────

/** True for a 401: credentials missing, wrong, or a token that expired. */
export function isUnauthenticated(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

/** The permission a 403 names (the broker's problem `data`: action and resource), if it is one. */
export function missingPermission(error: unknown): { action: string; resource: string } | undefined {
  if (!(error instanceof ApiError) || error.status !== 403) return undefined;
  const { action, resource } = error.data ?? {};
  return typeof action === 'string' && typeof resource === 'string' ? { action, resource } : undefined;
}

/**
 * One line for a refused action: a 403 names the permission that is missing (and does not log
 * out); other errors say what the broker said.
 */
export function describeError(error: unknown): string {
  const missing = missingPermission(error);
  if (missing)
    return `Permission denied: this needs “${missing.action}” on “${missing.resource}”, which your roles do not grant. Ask an administrator.`;
  if (error instanceof ApiError && error.status === 403) return `Permission denied: ${error.detail}`;
  if (error instanceof ApiError) return error.detail ? `${error.title}: ${error.detail}` : error.title;
  return error instanceof Error ? error.message : String(error);
}

/** The login page's message for a refused login (problem+json detail, verbatim). */
export function loginErrorText(error: unknown): string {
  if (error instanceof ApiError) return error.detail || error.title;
  return error instanceof Error ? error.message : String(error);
}

/** A failed action as the views' Notice shows it: permission refusals marked apart. */
export function refusalNotice(error: unknown): { ok: false; text: string; denied: boolean } {
  return { ok: false, text: describeError(error), denied: error instanceof ApiError && error.status === 403 };
}
