import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { api, apiKey, setApiKey } from './api';
import { ResolvePage } from './resolve-page';
import './admin.css';

// hls.js is only needed on the Channel page: loaded with it.
const ChannelPage = lazy(() => import('./channel-page').then((module) => ({ default: module.ChannelPage })));
// The operator's pages: loaded when opened, so a listener's first load stays small.
const RegistryPage = lazy(() =>
  import('./registry-page').then((module) => ({ default: module.RegistryPage })),
);
const SeedPage = lazy(() => import('./seed-page').then((module) => ({ default: module.SeedPage })));

interface ServerInfo {
  fixtures: boolean;
  apiKeyRequired: boolean;
  exampleLink: string | null;
}

/** The pages of the app, each at `#/<page>`. */
const pages = ['resolve', 'channel', 'registry', 'seed'] as const;
type Page = (typeof pages)[number];

/**
 * The page named by the address: `#/channel`, `#/registry`, `#/seed`, else Resolve (also for no hash at all).
 * A query after the page (`#/resolve?q=…`) is the page's own; the query string (`?q=…`) is left alone.
 */
function pageFromHash(): Page {
  const name = location.hash.replace(/^#\/?/, '').split(/[?&/]/)[0];
  return (pages as readonly string[]).includes(name ?? '') ? (name as Page) : 'resolve';
}

const pageTitles: Record<Page, string> = {
  resolve: 'Resolve & download',
  channel: 'Channel',
  registry: 'Registry',
  seed: 'Seed',
};

/**
 * The app shell: navigation between Resolve (with Download), Channel, Registry and Seed, and the API key when
 * the server wants one. After a page change, focus moves to the page so keyboard and screen-reader users start
 * there.
 */
export function App() {
  const [page, setPage] = useState<Page>(pageFromHash);
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const [key, setKey] = useState(apiKey);
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    void api<ServerInfo>('/api/config').then(setInfo, () => setInfo(null));
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.title = `${pageTitles[page]} · NexStream`;
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
  }, [page]);

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">NexStream</span>
        <nav aria-label="Pages">
          {pages.map((name) => (
            <a key={name} href={`#/${name}`} aria-current={page === name ? 'page' : undefined}>
              {pageTitles[name]}
            </a>
          ))}
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
      <main id="main" ref={main} tabIndex={-1}>
        {page === 'resolve' ? (
          <ResolvePage exampleLink={info?.exampleLink ?? null} />
        ) : (
          <Suspense
            fallback={<p className="muted">{page === 'channel' ? 'Loading the player…' : 'Loading…'}</p>}
          >
            {page === 'channel' && <ChannelPage />}
            {page === 'registry' && <RegistryPage />}
            {page === 'seed' && <SeedPage />}
          </Suspense>
        )}
      </main>
    </>
  );
}
