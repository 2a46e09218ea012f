/** Renderer entry: one Api (IPC or HTTP), one live hub, the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import iconUrl from '../../resources/icon.svg';
import { createApi } from './api/api.ts';
import { BrokerContext } from './api/hooks.ts';
import { LiveHub } from './api/live.ts';
import { App } from './App.tsx';
import './styles.css';

const api = createApi();
const live = new LiveHub(api);
live.start();

const favicon = document.createElement('link');
favicon.rel = 'icon';
favicon.href = iconUrl;
document.head.append(favicon);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrokerContext.Provider value={{ api, live }}>
      <App />
    </BrokerContext.Provider>
  </StrictMode>,
);
