import { describe, expect, test } from 'vitest';
import { ApiError } from '../../../core/api/client.ts';
import {
  describeError,
  gateOpen,
  gateReducer,
  initialGate,
  isUnauthenticated,
  loadSession,
  loginErrorText,
  missingPermission,
  msUntilExpiry,
  refusalNotice,
  saveSession,
  sessionStillValid,
  type GateEvent,
  type GateState,
} from './session.ts';

const session = { token: 'slt_abc', user: 'ops', expiresAt: 2_000_000 };
const run = (events: GateEvent[], from: GateState = initialGate) => events.reduce(gateReducer, from);

describe('the login gate', () => {
  test('start: setup, login or anonymous as auth.status says', () => {
    expect(run([{ type: 'status', setupRequired: true, anonymous: false }])).toEqual({ kind: 'setup' });
    expect(run([{ type: 'status', setupRequired: false, anonymous: false }])).toEqual({
      kind: 'login',
      reason: 'start',
    });
    expect(run([{ type: 'status', setupRequired: false, anonymous: true }])).toEqual({ kind: 'anonymous' });
    expect(gateOpen(run([{ type: 'status', setupRequired: false, anonymous: false }]))).toBe(false);
  });

  test('setup → logged in; a re-check after setup was done elsewhere → login', () => {
    const setup = run([{ type: 'status', setupRequired: true, anonymous: false }]);
    expect(run([{ type: 'logged-in', session, roles: ['admin'] }], setup)).toEqual({
      kind: 'ready',
      session,
      roles: ['admin'],
    });
    expect(run([{ type: 'status', setupRequired: false, anonymous: false }], setup)).toEqual({
      kind: 'login',
      reason: 'start',
    });
  });

  test('a 401 or expiry while logged in → login, remembering who; late 401s change nothing', () => {
    const ready = run([
      { type: 'status', setupRequired: false, anonymous: false },
      { type: 'logged-in', session, roles: ['viewer'] },
    ]);
    expect(gateOpen(ready)).toBe(true);
    const expired = gateReducer(ready, { type: 'unauthenticated' });
    expect(expired).toEqual({ kind: 'login', reason: 'expired', user: 'ops' });
    expect(gateReducer(expired, { type: 'unauthenticated' })).toBe(expired);
    expect(gateReducer(initialGate, { type: 'unauthenticated' })).toBe(initialGate);
  });

  test('logout → login page saying so; log in again', () => {
    const ready: GateState = { kind: 'ready', session, roles: [] };
    const out = gateReducer(ready, { type: 'logout' });
    expect(out).toEqual({ kind: 'login', reason: 'logged-out', user: 'ops' });
    expect(gateReducer(out, { type: 'logged-in', session, roles: [] }).kind).toBe('ready');
  });

  test('a stored session holds only while whoami names the same user (IPC: the main process still keeps its token)', () => {
    expect(sessionStillValid(session, { user: 'ops' })).toBe(true);
    expect(sessionStillValid(session, { user: null })).toBe(false);
    expect(sessionStillValid(session, { user: 'someone-else' })).toBe(false);
  });

  test('unreachable only before the gate opened', () => {
    expect(run([{ type: 'unreachable', detail: 'down' }])).toEqual({ kind: 'unreachable', detail: 'down' });
    const ready: GateState = { kind: 'ready', session, roles: [] };
    expect(gateReducer(ready, { type: 'unreachable', detail: 'down' })).toBe(ready);
  });
});

describe('stored session', () => {
  const memory = () => {
    const map = new Map<string, string>();
    return {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    };
  };

  test('round-trips; expired, malformed or missing is none', () => {
    const storage = memory();
    expect(loadSession(storage, 0)).toBeUndefined();
    saveSession(storage, session);
    expect(loadSession(storage, 1_000_000)).toEqual(session);
    expect(loadSession(storage, 2_000_000)).toBeUndefined();
    storage.setItem('sluice.session', '{not json');
    expect(loadSession(storage, 0)).toBeUndefined();
    storage.setItem('sluice.session', JSON.stringify({ token: 1 }));
    expect(loadSession(storage, 0)).toBeUndefined();
    saveSession(storage, session);
    saveSession(storage, undefined);
    expect(loadSession(storage, 0)).toBeUndefined();
  });

  test('expiry timer is bounded for setTimeout', () => {
    expect(msUntilExpiry(session, 1_999_000)).toBe(1000);
    expect(msUntilExpiry(session, 3_000_000)).toBe(0);
    expect(msUntilExpiry({ ...session, expiresAt: Number.MAX_SAFE_INTEGER }, 0)).toBe(2 ** 31 - 1);
  });
});

describe('refusals in words', () => {
  const denied = new ApiError(403, 'not-authorized', 'Not authorized', 'viewer may not manage "orders"', {
    action: 'manage',
    resource: 'orders',
  });
  const unauthenticated = new ApiError(401, 'not-authenticated', 'Not authenticated', 'Bad user name or password');

  test('a 403 names the missing permission and is marked denied', () => {
    expect(missingPermission(denied)).toEqual({ action: 'manage', resource: 'orders' });
    expect(describeError(denied)).toBe(
      'Permission denied: this needs “manage” on “orders”, which your roles do not grant. Ask an administrator.',
    );
    expect(refusalNotice(denied)).toMatchObject({ ok: false, denied: true });
    expect(describeError(new ApiError(403, 'not-authorized', 'Not authorized', 'Setup is done'))).toBe(
      'Permission denied: Setup is done',
    );
  });

  test('401 is recognised; the login page shows the detail verbatim', () => {
    expect(isUnauthenticated(unauthenticated)).toBe(true);
    expect(isUnauthenticated(denied)).toBe(false);
    expect(loginErrorText(unauthenticated)).toBe('Bad user name or password');
    expect(missingPermission(unauthenticated)).toBeUndefined();
    expect(refusalNotice(new Error('boom'))).toEqual({ ok: false, text: 'boom', denied: false });
  });
});
