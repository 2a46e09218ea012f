/**
 * The shell: sidebar with the views, a top bar with the broker's status, and the current view.
 * Keyboard: 1–9 and 0 switch views (when not typing), T toggles the theme.
 */
import { useEffect, useState, type ReactNode } from 'react';
import iconUrl from '../../resources/icon.svg';
import { useOperation, useStreamState, useBroker } from './api/hooks.ts';
import { isTyping } from './components/bits.tsx';
import { WhoAmI } from './components/WhoAmI.tsx';
import { count, duration } from './logic/format.ts';
import { applyTheme, initialTheme, type Theme } from './logic/theme.ts';
import { Bridges } from './views/Bridges.tsx';
import { Connections } from './views/Connections.tsx';
import { DeadMessages } from './views/DeadMessages.tsx';
import { Demo } from './views/Demo.tsx';
import { Journey } from './views/Journey.tsx';
import { Overview } from './views/Overview.tsx';
import { Publish } from './views/Publish.tsx';
import { Queues } from './views/Queues.tsx';
import { Replay } from './views/Replay.tsx';
import { linkedViews, viewFromHash, viewIndexOfKey, viewKey, views, type ViewId } from './views/routes.ts';
import { Security } from './views/Security.tsx';
import { Settings } from './views/Settings.tsx';
import { Sparkplug } from './views/Sparkplug.tsx';
import { Topics } from './views/Topics.tsx';

const screens: Record<ViewId, () => ReactNode> = {
  overview: Overview,
  topics: Topics,
  queues: Queues,
  dead: DeadMessages,
  replay: Replay,
  publish: Publish,
  connections: Connections,
  security: Security,
  demo: Demo,
  bridges: Bridges,
  sparkplug: Sparkplug,
  settings: Settings,
  journey: Journey,
};

export function App(): ReactNode {
  const [view, setView] = useState<ViewId>(() => viewFromHash(location.hash));
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => applyTheme(theme), [theme]);

  useEffect(() => {
    const onHash = () => setView(viewFromHash(location.hash));
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      const index = viewIndexOfKey(event.key);
      if (index !== undefined && views[index]) {
        location.hash = `#/${views[index].id}`;
        event.preventDefault();
      } else if (event.key === 't' || event.key === 'T') setTheme((t) => (t === 'dark' ? 'light' : 'dark'));
    };
    addEventListener('hashchange', onHash);
    addEventListener('keydown', onKey);
    return () => {
      removeEventListener('hashchange', onHash);
      removeEventListener('keydown', onKey);
    };
  }, []);

  const Screen = screens[view];
  const title = [...views, ...linkedViews].find((v) => v.id === view)?.title;
  return (
    <div className="app">
      <nav className="sidebar" aria-label="Views">
        <div className="brand">
          <img src={iconUrl} alt="" />
          Sluice
        </div>
        <div className="nav">
          {views.map((v, i) => (
            <a key={v.id} href={`#/${v.id}`} aria-current={v.id === view ? 'page' : undefined}>
              {v.title}
              {v.id === 'dead' && <DeadBadge />}
              <kbd>{viewKey(i)}</kbd>
            </a>
          ))}
        </div>
        <div className="sidebar-foot">
          <WhoAmI />
          <button onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title="Toggle theme (T)">
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </button>
          <BrokerInfo />
        </div>
      </nav>
      <main className="main">
        <header className="topbar">
          <h1>{title}</h1>
          <StreamBadge />
        </header>
        <Screen key={view} />
      </main>
    </div>
  );
}

/** Live or not: what a trainer checks first when the numbers stop moving. */
function StreamBadge(): ReactNode {
  const state = useStreamState();
  const { data, error } = useOperation('health', {}, ['stats']);
  if (error)
    return (
      <span className="badge danger" role="status">
        <span className="dot" />
        Broker unreachable
      </span>
    );
  if (data?.status === 'closing')
    return (
      <span className="badge warn" role="status">
        <span className="dot" />
        Broker closing
      </span>
    );
  if (state === 'open')
    return (
      <span className="badge ok" role="status">
        <span className="dot" />
        Live
      </span>
    );
  return (
    <span className="badge warn" role="status">
      <span className="dot" />
      {state === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
    </span>
  );
}

function DeadBadge(): ReactNode {
  const { data } = useOperation('dmq.counts', {}, ['dead']);
  if (!data || data.total === 0) return null;
  return (
    <span className="badge danger" aria-label={`${data.total} dead messages`}>
      {count(data.total)}
    </span>
  );
}

function BrokerInfo(): ReactNode {
  const { api } = useBroker();
  const { data } = useOperation('health', {}, ['stats']);
  return (
    <div className="muted">
      {data ? `v${data.version} · up ${duration(data.uptimeMs)}` : '…'}
      <br />
      {api.transport === 'ipc' ? 'Desktop (IPC)' : `Browser · ${location.host}`}
    </div>
  );
}
