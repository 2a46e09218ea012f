/**
 * React glue for the API: the context that carries the one Api and LiveHub, and hooks that load
 * an operation's answer and reload it when the broker pushes a change to its area.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { OperationInput, OperationOutput, UnaryOperationName, WireStats } from '../../../core/api/contract.ts';
import type { Api, StreamState } from './api.ts';
import type { LiveArea, LiveHub } from './live.ts';

/** What every view reaches the broker through. */
export interface Broker {
  readonly api: Api;
  readonly live: LiveHub;
}

export const BrokerContext = createContext<Broker | undefined>(undefined);

/** The window's API client and live hub. */
export function useBroker(): Broker {
  const broker = useContext(BrokerContext);
  if (!broker) throw new Error('useBroker outside <BrokerContext.Provider>');
  return broker;
}

/** An operation's answer: loading until the first one, then the latest (kept while reloading). */
export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: Error | undefined;
  readonly reload: () => void;
}

/**
 * Runs `name` with `input`, and again whenever one of `areas` changes (pushed, not polled).
 * `input` is compared by its JSON, so an inline object literal does not loop.
 */
export function useOperation<N extends UnaryOperationName>(
  name: N,
  input: OperationInput<N> | undefined,
  areas: readonly LiveArea[] = [],
): Loaded<OperationOutput<N>> {
  const { api, live } = useBroker();
  const [data, setData] = useState<OperationOutput<N>>();
  const [error, setError] = useState<Error>();
  const key = input === undefined ? undefined : JSON.stringify(input);
  const generation = useRef(0);

  const reload = useCallback(() => {
    if (key === undefined) return;
    const mine = ++generation.current;
    api.call(name, JSON.parse(key) as OperationInput<N>).then(
      (answer) => {
        if (mine !== generation.current) return; // a newer request superseded this one
        setData(answer);
        setError(undefined);
      },
      (failure: unknown) => {
        if (mine === generation.current) setError(failure instanceof Error ? failure : new Error(String(failure)));
      },
    );
  }, [api, name, key]);

  useEffect(() => {
    reload();
    const offs = areas.map((area) => live.onPulse(area, reload));
    return () => offs.forEach((off) => off());
    // `areas` is a constant list per call site.
  }, [reload, live]);

  return { data, error, reload };
}

/** The live stream's state, for the status badge. */
export function useStreamState(): StreamState {
  const { live } = useBroker();
  const [state, setState] = useState(live.state);
  useEffect(() => {
    setState(live.state); // it may have changed between render and subscribing
    return live.onState(setState);
  }, [live]);
  return state;
}

/** The latest stats the broker pushed (re-renders once per stats event). */
export function useStats(): WireStats | undefined {
  const { live } = useBroker();
  const [stats, setStats] = useState(live.stats);
  useEffect(() => {
    setStats(live.stats);
    return live.onPulse('stats', () => setStats(live.stats));
  }, [live]);
  return stats;
}

/**
 * `useOperation` reloaded every `intervalMs` while the page is visible, for state the broker does
 * not push (bridge status). A hidden tab stops asking and reloads when shown again.
 */
export function usePolledOperation<N extends UnaryOperationName>(
  name: N,
  input: OperationInput<N> | undefined,
  intervalMs = 1000,
): Loaded<OperationOutput<N>> {
  const loaded = useOperation(name, input);
  const { reload } = loaded;
  useEffect(() => {
    const visible = () => typeof document === 'undefined' || document.visibilityState !== 'hidden';
    const timer = setInterval(() => {
      if (visible()) reload();
    }, intervalMs);
    const onVisibility = () => {
      if (visible()) reload();
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [reload, intervalMs]);
  return loaded;
}
