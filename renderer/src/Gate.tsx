/**
 * The login gate (docs/ui.md: Login and security). The broker asks for credentials (security is
 * on by default): the gate asks `auth.status` whether first-run setup is open, shows the setup or
 * login page, and goes back to the login page when the token expires or a call answers 401.
 * The same in a browser and in the desktop window: over HTTP it keeps the bearer token in
 * sessionStorage and on the client (calls and the live stream alike); over IPC the main process
 * keeps the token for this window (electron/ipc.ts) and every call runs as the logged-in user.
 */
import {
  createContext,
  Fragment,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useReducer,
  useState,
  type FormEvent,
  type ReactNode,
} from 'react';
import iconUrl from '../../resources/icon.svg';
import type { Api } from './api/api.ts';
import { BrokerContext } from './api/hooks.ts';
import { LiveHub } from './api/live.ts';
import {
  gateOpen,
  gateReducer,
  initialGate,
  isUnauthenticated,
  loadSession,
  loginErrorText,
  msUntilExpiry,
  saveSession,
  sessionStillValid,
  type GateState,
  type Session,
} from './logic/session.ts';
import './security.css';

/** Who the window acts as, for the shell. */
export interface SessionInfo {
  /** `ready`: a logged-in user; `anonymous`: anonymous access is on. */
  readonly kind: 'ready' | 'anonymous';
  readonly user: string | null;
  readonly roles: readonly string[];
  readonly logout: () => void;
}

export const SessionContext = createContext<SessionInfo | undefined>(undefined);

/** The window's session (undefined outside the gate, e.g. in tests). */
export function useSession(): SessionInfo | undefined {
  return useContext(SessionContext);
}

/** Shows the children (the app) only once the broker lets this window in. */
export function Gate(props: { api: Api; children: ReactNode }): ReactNode {
  const { api } = props;
  const [state, dispatch] = useReducer(gateReducer, initialGate);
  const [checks, setChecks] = useState(0);

  // Start: reuse the stored session while the broker still knows it, else ask the broker.
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const stored = loadSession(sessionStorage);
      if (stored) {
        api.setAuth({ token: stored.token });
        try {
          const who = await api.call('auth.whoami', {});
          if (sessionStillValid(stored, who)) {
            if (!cancelled) dispatch({ type: 'logged-in', session: stored, roles: who.roles });
            return;
          }
          saveSession(sessionStorage, undefined); // anonymous or another user: the login is gone
          api.setAuth(null);
        } catch (error) {
          if (!isUnauthenticated(error)) {
            if (!cancelled) dispatch({ type: 'unreachable', detail: loginErrorText(error) });
            return;
          }
          saveSession(sessionStorage, undefined);
          api.setAuth(null);
        }
      }
      try {
        const status = await api.call('auth.status', {});
        if (!cancelled) dispatch({ type: 'status', ...status });
      } catch (error) {
        if (!cancelled) dispatch({ type: 'unreachable', detail: loginErrorText(error) });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [api, checks]);

  // Any 401 (a call or the live stream) ends the session.
  useEffect(() => api.onUnauthorized(() => dispatch({ type: 'unauthenticated' })), [api]);

  // The token goes where the state says: on the client and in sessionStorage, or nowhere.
  const token = state.kind === 'ready' ? state.session.token : undefined;
  useEffect(() => {
    if (state.kind === 'ready') {
      api.setAuth({ token: state.session.token });
      saveSession(sessionStorage, state.session);
      const timer = setTimeout(() => dispatch({ type: 'unauthenticated' }), msUntilExpiry(state.session));
      return () => clearTimeout(timer);
    }
    if (state.kind === 'login') {
      api.setAuth(null);
      saveSession(sessionStorage, undefined);
    }
    // `state` is read only through `token` and `kind`.
  }, [api, token, state.kind]);

  const open = gateOpen(state);
  const hubKey = token ?? state.kind;
  const live = useMemo(() => (open ? new LiveHub(api) : undefined), [api, open, hubKey]);
  useEffect(() => {
    live?.start();
    return () => live?.stop();
  }, [live]);

  const loggedIn = useCallback(
    async (session: Session) => {
      api.setAuth({ token: session.token });
      const who = await api.call('auth.whoami', {});
      dispatch({ type: 'logged-in', session, roles: who.roles });
    },
    [api],
  );

  const logout = useCallback(() => {
    void api
      .call('auth.logout', {})
      .catch(() => undefined) // an expired token is logged out already
      .finally(() => dispatch({ type: 'logout' }));
  }, [api]);

  const session = useMemo<SessionInfo | undefined>(
    () =>
      state.kind === 'ready'
        ? { kind: 'ready', user: state.session.user, roles: state.roles, logout }
        : state.kind === 'anonymous'
          ? { kind: state.kind, user: null, roles: [], logout }
          : undefined,
    [state, logout],
  );

  if (open && live && session)
    return (
      <SessionContext.Provider value={session}>
        <BrokerContext.Provider value={{ api, live }}>
          <Fragment key={hubKey}>{props.children}</Fragment>
        </BrokerContext.Provider>
      </SessionContext.Provider>
    );
  return <GatePage state={state} api={api} onToken={loggedIn} onRecheck={() => setChecks((n) => n + 1)} />;
}

/** What the gate shows while the app is closed. */
function GatePage(props: {
  state: GateState;
  api: Api;
  onToken: (session: Session) => Promise<void>;
  onRecheck: () => void;
}): ReactNode {
  const { state } = props;
  return (
    <main className="gate">
      <div className="gate-card">
        <div className="gate-brand">
          <img src={iconUrl} alt="" />
          <span>Sluice</span>
          <span className="gate-host">{location.host}</span>
        </div>
        {state.kind === 'checking' && <p className="muted">Connecting to the broker…</p>}
        {state.kind === 'unreachable' && (
          <>
            <h1>Broker unreachable</h1>
            <div className="notice error" role="alert">
              {state.detail}
            </div>
            <button className="primary" onClick={props.onRecheck}>
              Try again
            </button>
          </>
        )}
        {state.kind === 'login' && <LoginForm {...props} reason={state.reason} user={state.user} />}
        {state.kind === 'setup' && <SetupForm {...props} />}
      </div>
    </main>
  );
}

/** Seconds since `since` while `busy`, ticking (the brute-force wait made visible). */
function useWaiting(busy: boolean): number {
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    if (!busy) return setSeconds(0);
    const started = Date.now();
    const timer = setInterval(() => setSeconds(Math.floor((Date.now() - started) / 1000)), 250);
    return () => clearInterval(timer);
  }, [busy]);
  return seconds;
}

const reasons = {
  start: undefined,
  expired: 'Your session expired. Log in again to continue.',
  'logged-out': 'You are logged out.',
} as const;

function LoginForm(props: {
  api: Api;
  onToken: (session: Session) => Promise<void>;
  reason: keyof typeof reasons;
  user: string | undefined;
}): ReactNode {
  const [user, setUser] = useState(props.user ?? '');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [failures, setFailures] = useState(0);
  const waited = useWaiting(busy);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const token = await props.api.call('auth.login', { user: user.trim(), password });
      await props.onToken(token);
    } catch (failure) {
      setFailures((n) => n + 1);
      setError(loginErrorText(failure));
      setPassword('');
      setBusy(false);
    }
  };

  return (
    <form className="gate-form" onSubmit={(e) => void submit(e)} aria-label="Log in">
      <h1>Log in</h1>
      {reasons[props.reason] && (
        <div className="notice" role="status">
          {reasons[props.reason]}
        </div>
      )}
      <label className="field">
        User
        <input
          value={user}
          onChange={(e) => setUser(e.target.value)}
          autoComplete="username"
          autoFocus={!props.user}
          required
          disabled={busy}
        />
      </label>
      <label className="field">
        Password
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
          autoFocus={!!props.user}
          required
          disabled={busy}
        />
      </label>
      {error && (
        <div className="notice error" role="alert">
          {error}
          {failures >= 3 && (
            <div className="gate-hint">Repeated failures are slowed down: each attempt now waits longer.</div>
          )}
        </div>
      )}
      <button className="primary gate-submit" type="submit" disabled={busy || user.trim() === ''}>
        {busy ? 'Checking…' : 'Log in'}
      </button>
      {busy && waited >= 1 && (
        <div className="gate-wait" role="status">
          Waiting for the broker: {waited} s. After failed attempts it delays each login (brute-force protection).
        </div>
      )}
    </form>
  );
}

function SetupForm(props: {
  api: Api;
  onToken: (session: Session) => Promise<void>;
  onRecheck: () => void;
}): ReactNode {
  const [user, setUser] = useState('admin');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const problem =
    password.length > 0 && password.length < 8
      ? 'A password has at least 8 characters.'
      : again.length > 0 && again !== password
        ? 'The passwords differ.'
        : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (problem) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.onToken(await props.api.call('auth.setup', { user: user.trim(), password }));
    } catch (failure) {
      setError(loginErrorText(failure));
      setBusy(false);
    }
  };

  return (
    <form className="gate-form" onSubmit={(e) => void submit(e)} aria-label="First-run setup">
      <h1>Create the administrator</h1>
      <p className="muted">
        This broker has no users yet. The account you create here has the <strong>admin</strong> role: it manages users,
        roles, queues and connections.
      </p>
      <label className="field">
        User
        <input value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" required />
      </label>
      <label className="field">
        Password (at least 8 characters)
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="new-password"
          autoFocus
          required
        />
      </label>
      <label className="field">
        Password again
        <input
          type="password"
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          autoComplete="new-password"
          required
        />
      </label>
      {(problem ?? error) && (
        <div className="notice error" role="alert">
          {problem ?? error}
        </div>
      )}
      <button className="primary gate-submit" type="submit" disabled={busy || !!problem || again === ''}>
        {busy ? 'Creating…' : 'Create administrator and log in'}
      </button>
      {error && (
        <button type="button" onClick={props.onRecheck}>
          Someone else finished setup: go to the login page
        </button>
      )}
    </form>
  );
}
