import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import './styles.css';

// The edge muxer's download pump: a Service Worker at the root scope (the server sends Service-Worker-Allowed).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker
    .register('/nexstream-sw.js', { scope: '/', type: 'module' })
    .catch((error: unknown) => {
      console.warn(
        'NexStream: the download Service Worker could not be registered; downloads fall back to memory',
        error,
      );
    });
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
