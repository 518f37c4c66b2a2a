import { lazy, Suspense, useEffect, useState } from 'react';
import { api, apiKey, setApiKey } from './api';
import { ResolvePage } from './resolve-page';

// hls.js is only needed on the Channel page: loaded with it.
const ChannelPage = lazy(() => import('./channel-page').then((module) => ({ default: module.ChannelPage })));

interface ServerInfo {
  fixtures: boolean;
  apiKeyRequired: boolean;
  exampleLink: string | null;
}

type Page = 'resolve' | 'channel';

function pageFromHash(): Page {
  return location.hash === '#/channel' ? 'channel' : 'resolve';
}

/** The app shell: navigation between Resolve (with Download) and Channel, and the API key when the server wants one. */
export function App() {
  const [page, setPage] = useState<Page>(pageFromHash);
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const [key, setKey] = useState(apiKey);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    void api<ServerInfo>('/api/config').then(setInfo, () => setInfo(null));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">NexStream</span>
        <nav aria-label="Pages">
          <a href="#/resolve" aria-current={page === 'resolve' ? 'page' : undefined}>
            Resolve &amp; download
          </a>
          <a href="#/channel" aria-current={page === 'channel' ? 'page' : undefined}>
            Channel
          </a>
        </nav>
        {info?.fixtures && <span className="badge">demo data</span>}
        {info?.apiKeyRequired && (
          <label className="key">
            API key
            <input
              type="password"
              value={key}
              autoComplete="off"
              onChange={(event) => {
                setKey(event.target.value);
                setApiKey(event.target.value);
              }}
            />
          </label>
        )}
      </header>
      <main id="main">
        {page === 'resolve' ? (
          <ResolvePage exampleLink={info?.exampleLink ?? null} />
        ) : (
          <Suspense fallback={<p className="muted">Loading the player…</p>}>
            <ChannelPage />
          </Suspense>
        )}
      </main>
    </>
  );
}
