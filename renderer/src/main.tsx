/** Renderer entry: one Api (IPC or HTTP), the login gate (which opens the live hub), the app. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import iconUrl from '../../resources/icon.svg';
import { createApi } from './api/api.ts';
import { App } from './App.tsx';
import { Gate } from './Gate.tsx';
import './styles.css';

const api = createApi();

const favicon = document.createElement('link');
favicon.rel = 'icon';
favicon.href = iconUrl;
document.head.append(favicon);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Gate api={api}>
      <App />
    </Gate>
  </StrictMode>,
);
