import { type FormEvent, useCallback, useEffect, useId, useState } from 'react';
import { type ApiError, api, describeError, formatDuration, toApiError } from './api';
import './admin.css';

/** `GET /api/registry/stats`, the parts this page shows. */
interface RegistryStats {
  tracks: number;
  media: number;
  links: { live: number; expired: number; dropped: number };
}

/** The link state of a mapping (`RegistryEntry.link` in `@nexstream/registry`). */
interface LinkState {
  expiresAt?: number;
  refreshedAt: number;
  refreshFailures: number;
  dropped: boolean;
}

/** `GET /api/registry/lookup`: one stored mapping. */
interface RegistryMapping {
  track: {
    isrc: string;
    title: string;
    artists: string[];
    album?: string;
    durationMs: number;
    ids: Partial<Record<'spotify' | 'deezer' | 'apple' | 'youtube', string>>;
  };
  media: { id: string; pageUrl: string; title: string; channel?: string; durationMs?: number };
  link: LinkState;
  verification: { method: 'isrc-search' | 'art-track'; isrcSource: string };
  verifiedAt: number;
}

/** `GET /api/registry/due`: links that expired or expire soon. */
interface DueLinks {
  links: Array<{
    mediaId: string;
    expiresAt: number;
    refreshFailures: number;
    track?: RegistryMapping['track'];
  }>;
}

/** What a person calls each state of a mapping's video links. */
type LinkHealth = 'healthy' | 'expired' | 'failing' | 'dropped';

/** The state of a mapping's links in one word, from what the registry records. */
export function linkHealth(link: LinkState, now = Date.now()): LinkHealth {
  if (link.dropped) return 'dropped';
  if (link.refreshFailures > 0) return 'failing';
  if (link.expiresAt !== undefined && link.expiresAt <= now) return 'expired';
  return 'healthy';
}

const healthWords: Record<LinkHealth, string> = {
  healthy: 'Working',
  expired: 'Expired',
  failing: 'Refresh failing',
  dropped: 'Dropped',
};

/** "in 5 hours", "3 minutes ago": a moment relative to now, in words. */
function relativeTime(at: number, now = Date.now()): string {
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const seconds = Math.round((at - now) / 1000);
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, 'second');
}

function healthSentence(link: LinkState): string {
  const health = linkHealth(link);
  switch (health) {
    case 'dropped':
      return 'The video links were given up after repeated failed refreshes. The next request for this track finds them again.';
    case 'failing':
      return `Refreshing the video links failed ${link.refreshFailures} time${link.refreshFailures === 1 ? '' : 's'} in a row. NexStream keeps trying.`;
    case 'expired':
      return `The video links expired ${relativeTime(link.expiresAt ?? Date.now())}. They are renewed the next time the track is used.`;
    default:
      return link.expiresAt === undefined
        ? 'The video links are working.'
        : `The video links work and expire ${relativeTime(link.expiresAt)}.`;
  }
}

const platformNames = {
  spotify: 'Spotify',
  deezer: 'Deezer',
  apple: 'Apple Music',
  youtube: 'YouTube',
} as const;

function platformUrl(platform: keyof typeof platformNames, id: string): string {
  switch (platform) {
    case 'spotify':
      return `https://open.spotify.com/track/${id}`;
    case 'deezer':
      return `https://www.deezer.com/track/${id}`;
    case 'apple':
      return `https://music.apple.com/song/${id}`;
    default:
      return `https://www.youtube.com/watch?v=${id}`;
  }
}

/** The services that give ISRCs, as people know them. */
const engineNames: Record<string, string> = {
  deezer: 'Deezer',
  spotify: 'Spotify',
  musicbrainz: 'MusicBrainz',
  itunes: 'Apple Music',
  soundcharts: 'Soundcharts',
  odesli: 'Odesli',
};

/** A sentence for a failed look-up: "not stored yet" says what would store it. */
function lookupErrorText(error: ApiError): string {
  if (error.code === 'NXS_NOT_FOUND') {
    return 'This track is not in the registry yet. Resolve it on the Resolve page, or seed its album: a match is stored once it is verified by ISRC.';
  }
  if (error.code === 'NXS_INVALID_INPUT' && error.message) {
    return `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`;
  }
  return describeError(error);
}

function HealthBadge({ link }: { link: LinkState }) {
  const health = linkHealth(link);
  return (
    <span className={`admin-health admin-health-${health}`} data-health={health}>
      {healthWords[health]}
    </span>
  );
}

function MappingCard({ mapping }: { mapping: RegistryMapping }) {
  const { track, media, link, verification } = mapping;
  const ids = Object.entries(track.ids).filter((entry): entry is [keyof typeof platformNames, string] =>
    Boolean(entry[1]),
  );
  return (
    <article className="admin-card" data-testid="registry-mapping" aria-labelledby="registry-mapping-title">
      <div className="admin-card-head">
        <h2 id="registry-mapping-title">{track.title}</h2>
        <HealthBadge link={link} />
      </div>
      <p className="admin-sub">
        {track.artists.join(', ')}
        {track.album ? ` · ${track.album}` : ''} · {formatDuration(track.durationMs)}
      </p>
      <dl className="admin-facts">
        <dt>ISRC</dt>
        <dd>
          <code>{track.isrc}</code>
        </dd>
        <dt>Video</dt>
        <dd>
          <a href={media.pageUrl} target="_blank" rel="noreferrer">
            {media.title}
          </a>
          {media.durationMs !== undefined ? ` (${formatDuration(media.durationMs)})` : ''}
        </dd>
        <dt>Links</dt>
        <dd data-testid="registry-link-state">{healthSentence(link)}</dd>
        <dt>Verified</dt>
        <dd>
          {new Date(mapping.verifiedAt).toLocaleString()} —{' '}
          {verification.method === 'isrc-search'
            ? 'the video was found by searching for its ISRC'
            : 'the video is the official audio upload whose details match the ISRC'}
          , ISRC from {engineNames[verification.isrcSource] ?? verification.isrcSource}
        </dd>
        {ids.length > 0 && (
          <>
            <dt>Also on</dt>
            <dd>
              <ul className="admin-inline-list">
                {ids.map(([platform, id]) => (
                  <li key={platform}>
                    <a href={platformUrl(platform, id)} target="_blank" rel="noreferrer">
                      {platformNames[platform]}
                    </a>
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </article>
  );
}

/**
 * The registry page: how many verified mappings the server holds and how their video links are doing, a look-up
 * by ISRC or by a Spotify / Deezer / Apple Music / YouTube track link, and the links that need a refresh.
 */
export function RegistryPage() {
  const inputId = useId();
  const [stats, setStats] = useState<RegistryStats | null>(null);
  const [due, setDue] = useState<DueLinks['links'] | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [query, setQuery] = useState('');
  const [searching, setSearching] = useState(false);
  const [mapping, setMapping] = useState<RegistryMapping | null>(null);
  const [lookupError, setLookupError] = useState<ApiError | null>(null);

  const refresh = useCallback(async () => {
    try {
      const [nextStats, nextDue] = await Promise.all([
        api<RegistryStats>('/api/registry/stats'),
        api<DueLinks>('/api/registry/due'),
      ]);
      setStats(nextStats);
      setDue(nextDue.links);
      setLoadError(null);
    } catch (error) {
      setLoadError(toApiError(error));
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const lookUp = async (event: FormEvent) => {
    event.preventDefault();
    const text = query.trim();
    if (!text) return;
    setSearching(true);
    setLookupError(null);
    setMapping(null);
    try {
      setMapping(await api<RegistryMapping>(`/api/registry/lookup?${new URLSearchParams({ q: text })}`));
    } catch (error) {
      setLookupError(toApiError(error));
    } finally {
      setSearching(false);
    }
  };

  const counts: Array<[string, number | undefined, string]> = [
    ['Tracks stored', stats?.tracks, 'tracks'],
    ['Videos', stats?.media, 'media'],
    ['Links working', stats?.links.live, 'live'],
    ['Links expired', stats?.links.expired, 'expired'],
    ['Links dropped', stats?.links.dropped, 'dropped'],
  ];

  return (
    <div className="admin">
      <h1>Registry</h1>
      <p className="admin-intro">
        The tracks this server has verified: each recording's ISRC, the video it plays from, and whether that
        video's download links still work. A stored track answers at once, without searching again.
      </p>

      <section className="admin-section" aria-labelledby="registry-counts">
        <div className="admin-section-head">
          <h2 id="registry-counts">At a glance</h2>
          <button type="button" className="secondary" onClick={() => void refresh()}>
            Refresh counts
          </button>
        </div>
        {loadError ? (
          <p className="admin-error" role="alert">
            {describeError(loadError)}
          </p>
        ) : (
          <dl className="admin-counts" data-testid="registry-counts" aria-busy={stats === null}>
            {counts.map(([label, value, key]) => (
              <div key={key} className={`admin-count admin-count-${key}`}>
                <dt>{label}</dt>
                <dd data-count={key}>{value === undefined ? '…' : value.toLocaleString()}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>

      <section className="admin-section" aria-labelledby="registry-search">
        <h2 id="registry-search">Look up a track</h2>
        <form className="admin-form" onSubmit={lookUp}>
          <label htmlFor={inputId}>ISRC or track link</label>
          <div className="admin-form-row">
            <input
              id={inputId}
              type="text"
              value={query}
              onChange={(event) => setQuery(event.target.value)}
              placeholder="GBDUW0000059 or https://open.spotify.com/track/…"
              autoComplete="off"
              spellCheck={false}
              aria-describedby={`${inputId}-hint`}
            />
            <button type="submit" disabled={searching || !query.trim()}>
              {searching ? 'Looking up…' : 'Look up'}
            </button>
          </div>
          <p id={`${inputId}-hint`} className="admin-hint">
            A Spotify, Deezer, Apple Music or YouTube track link, or the 12-character ISRC.
          </p>
        </form>
        <div aria-live="polite" data-testid="registry-result">
          {lookupError && (
            <p className="admin-error" role="alert">
              {lookupErrorText(lookupError)}
            </p>
          )}
          {mapping && <MappingCard mapping={mapping} />}
        </div>
      </section>

      <section className="admin-section" aria-labelledby="registry-due">
        <h2 id="registry-due">Links that need a refresh</h2>
        {due === null ? (
          <p className="admin-hint">Loading…</p>
        ) : due.length === 0 ? (
          <p className="admin-hint" data-testid="registry-due-empty">
            None: every stored link works for at least another hour.
          </p>
        ) : (
          <ul className="admin-list" data-testid="registry-due-list">
            {due.map((link) => {
              const state: LinkState = {
                expiresAt: link.expiresAt,
                refreshedAt: 0,
                refreshFailures: link.refreshFailures,
                dropped: false,
              };
              return (
                <li key={link.mediaId} className="admin-list-item">
                  <div className="admin-list-text">
                    <strong>{link.track ? link.track.title : link.mediaId}</strong>
                    {link.track && <span className="admin-sub"> {link.track.artists.join(', ')}</span>}
                    <span className="admin-hint admin-block">
                      {link.expiresAt <= Date.now()
                        ? `Expired ${relativeTime(link.expiresAt)}`
                        : `Expires ${relativeTime(link.expiresAt)}`}
                      {link.refreshFailures > 0
                        ? ` · ${link.refreshFailures} failed refresh${link.refreshFailures === 1 ? '' : 'es'}`
                        : ''}
                    </span>
                  </div>
                  <HealthBadge link={state} />
                </li>
              );
            })}
          </ul>
        )}
      </section>
    </div>
  );
}
