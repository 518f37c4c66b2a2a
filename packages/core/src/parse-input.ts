import { NexStreamError, NexStreamErrorCode } from './errors.js';
import type { Platform, TrackRef, TrackRefKind } from './types.js';

/** The longest input {@link parseInput} accepts, in characters. Longer text is not a link or a song title. */
export const maxInputLength = 2000;

const expectedInput = 'paste a Spotify, Deezer, Apple Music or YouTube link, an ISRC, or search text';

const isrcPattern = /^(?:ISRC[\s:]*)?([A-Z]{2})[-\s]?([A-Z0-9]{3})[-\s]?(\d{2})[-\s]?(\d{5})$/i;

/**
 * Reads an International Standard Recording Code in any accepted spelling and gives its stored form: 12
 * characters, upper case, no separators (`GB-DUW-00-00059`, ` gbduw0000059 `, `ISRC: GBDUW0000059` →
 * `GBDUW0000059`). Hyphens or spaces may separate the four parts. Gives `undefined` for anything else,
 * including a value that is not a string: the one reading of an ISRC that the registry, the resolver's
 * engines and {@link parseInput} share.
 */
export function parseIsrc(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = isrcPattern.exec(value.trim());
  return match ? match.slice(1).join('').toUpperCase() : undefined;
}

/**
 * Like {@link parseIsrc}, for input that must be an ISRC.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` when `text` is not an ISRC (2 letters, 3 letters or digits,
 *   7 digits).
 */
export function normalizeIsrc(text: string): string {
  const isrc = parseIsrc(text);
  if (!isrc) {
    throw invalid(
      `invalid ISRC "${clip(text)}": expected 2 letters, 3 letters or digits and 7 digits, such as GB-DUW-00-00059`,
    );
  }
  return isrc;
}

/** True when `text` is an ISRC in any accepted spelling (see {@link parseIsrc}). */
export function isValidIsrc(text: string): boolean {
  return parseIsrc(text) !== undefined;
}

/**
 * Reads what a user pasted (a link, a `spotify:` URI, an ISRC, or free text) into a {@link TrackRef}.
 *
 * Links are recognized on open.spotify.com, deezer.com, music.apple.com / itunes.apple.com and
 * youtube.com / youtu.be / music.youtube.com, with or without a scheme, with tracking parameters, locale
 * paths and trailing slashes; short links (spotify.link, open.spotify.com/s/…, deezer.page.link, link.deezer.com, apple.co) give a
 * `redirect` ref to follow. In pasted text (`Check this out https://… !`), the first link wins; hosts without a
 * scheme are only recognized there when they are one of the hosts above and carry a path. Anything else becomes a `query`
 * (trimmed, inner whitespace collapsed). Pure and synchronous: it never touches the network.
 *
 * @example
 * ```ts
 * parseInput('https://open.spotify.com/intl-de/track/4cOdK2wGLETKBW3PvgPWqT?si=abc');
 * // → { type: 'platform', platform: 'spotify', kind: 'track', id: '4cOdK2wGLETKBW3PvgPWqT',
 * //     url: 'https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPWqT', language: 'de' }
 * ```
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for empty input, input over {@link maxInputLength} characters,
 *   links of unsupported hosts or paths, and malformed ids; the message names what was expected.
 */
export function parseInput(text: string): TrackRef {
  if (typeof text !== 'string') throw invalid(`expected a string: ${expectedInput}`);
  if (text.length > maxInputLength) {
    throw invalid(
      `input is ${text.length} characters long, over the limit of ${maxInputLength}: ${expectedInput}`,
    );
  }
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(`input is empty: ${expectedInput}`);

  if (!/\s/.test(trimmed)) {
    if (isrcPattern.test(trimmed)) return { type: 'isrc', isrc: normalizeIsrc(trimmed) };
    // A link on its own, or wrapped in markup that people paste (`**…**`, `(…)`, `` `…` ``, `[…](…)`).
    const link = singleTokenLink(trimmed) ?? firstLinkIn(trimmed);
    if (link) return parseLink(link);
  } else {
    if (isrcPattern.test(trimmed)) return { type: 'isrc', isrc: normalizeIsrc(trimmed) };
    const link = firstLinkIn(trimmed);
    if (link) return parseLink(link);
  }
  return { type: 'query', query: trimmed.replace(/\s+/g, ' ') };
}

// ---------------------------------------------------------------------------------------------------------
// Finding the link

const spotifyUriStart = /^spotify:(?:track|album|playlist|artist|user|episode|show|local):/i;

const knownHostSuffixes = [
  'spotify.com',
  'spotify.link',
  'spotify.app.link',
  'deezer.com',
  'deezer.page.link',
  'dzr.page.link',
  'youtube.com',
  'youtu.be',
  'youtube-nocookie.com',
  'apple.com',
  'apple.co',
];

const knownHostPattern = knownHostSuffixes.map((host) => host.replace(/\./g, '\\.')).join('|');

/** The first link inside pasted text: an http(s) URL, a `spotify:` URI, or a known host without scheme. */
const linkInText = new RegExp(
  [
    String.raw`https?:\/\/[^\s<>"'\`\[\]]+`,
    String.raw`spotify:(?:track|album|playlist|artist|user):[^\s<>"'\`]+`,
    String.raw`(?<![\w@.\/-])(?:[a-z0-9-]+\.)*(?:${knownHostPattern})[\/?#][^\s<>"'\`]*`,
  ].join('|'),
  'i',
);

/** Whole-input tokens that look like a link of any host: `host.tld/path`, `www.host.tld`, a scheme. */
const schemeStart = /^[a-z][a-z0-9+.-]*:\/\//i;
const bareHostWithPath = /^(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?[/?#]/i;
const bareWwwHost = /^www\.(?:[a-z0-9-]+\.)+[a-z]{2,}$/i;
const bareKnownHost = new RegExp(String.raw`^(?:[a-z0-9-]+\.)*(?:${knownHostPattern})$`, 'i');

function singleTokenLink(token: string): string | undefined {
  if (spotifyUriStart.test(token)) return trimTrailingPunctuation(token);
  if (schemeStart.test(token) || bareHostWithPath.test(token) || bareWwwHost.test(token)) {
    return trimTrailingPunctuation(token);
  }
  if (bareKnownHost.test(token)) return token;
  return undefined;
}

function firstLinkIn(text: string): string | undefined {
  const match = linkInText.exec(text);
  return match ? trimTrailingPunctuation(match[0]) : undefined;
}

/** Drops punctuation that ends a sentence around a link (`…/track/abc).` → `…/track/abc`). */
function trimTrailingPunctuation(link: string): string {
  let result = link;
  for (;;) {
    const last = result.at(-1);
    if (last === undefined) return result;
    if ('.,;:!?\'"*>]}'.includes(last)) {
      result = result.slice(0, -1);
    } else if (last === ')' && count(result, '(') < count(result, ')')) {
      result = result.slice(0, -1);
    } else {
      return result;
    }
  }
}

function count(text: string, character: string): number {
  return text.split(character).length - 1;
}

// ---------------------------------------------------------------------------------------------------------
// Reading the link

function parseLink(link: string): TrackRef {
  if (spotifyUriStart.test(link)) return parseSpotifyUri(link);
  if (!schemeStart.test(link)) return parseLink(`https://${link}`);

  let url: URL;
  try {
    url = new URL(link);
  } catch (error) {
    throw invalid(`malformed link "${clip(link)}": ${expectedInput}`, error);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`unsupported link scheme "${url.protocol}" in "${clip(link)}": ${expectedInput}`);
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const bareHost = host.replace(/^www\./, '');
  const segments = url.pathname
    .split('/')
    .filter((segment) => segment !== '')
    .map(decodeSegment);

  switch (bareHost) {
    case 'open.spotify.com':
    case 'play.spotify.com':
    case 'spotify.com':
      // `open.spotify.com/s/<code>` is a share short link: only its redirect names the item.
      if (segments[0] === 's' && segments[1] !== undefined) return redirect('spotify', url, link);
      return parseSpotifyPath(segments, link, url.searchParams.get('highlight'));
    case 'embed.spotify.com': {
      const uri = url.searchParams.get('uri');
      if (uri && spotifyUriStart.test(uri)) return parseSpotifyUri(uri);
      throw invalid(`unsupported Spotify embed link "${clip(link)}": expected a ?uri=spotify:… parameter`);
    }
    case 'spotify.link':
    case 'spotify.app.link':
      return redirect('spotify', url, link);
    case 'deezer.com':
    case 'm.deezer.com':
    case 'widget.deezer.com':
      return parseDeezerPath(segments, link);
    case 'deezer.page.link':
    case 'dzr.page.link':
    case 'link.deezer.com':
      return redirect('deezer', url, link);
    case 'music.apple.com':
    case 'geo.music.apple.com':
    case 'embed.music.apple.com':
    case 'itunes.apple.com':
    case 'geo.itunes.apple.com':
      return parseApplePath(segments, url, link);
    case 'apple.co':
      return redirect('apple', url, link);
    case 'youtube.com':
    case 'm.youtube.com':
    case 'music.youtube.com':
    case 'youtube-nocookie.com':
      return parseYouTubePath(segments, url, link);
    case 'youtu.be':
      return youTubeVideo(segments[0], link);
    default:
      throw invalid(`unsupported link host "${host}": ${expectedInput}`);
  }
}

function redirect(platform: Platform, url: URL, link: string): TrackRef {
  // Branch (app.link) links from Spotify's mobile web player carry their target in `$full_url`.
  const target = url.searchParams.get('$full_url');
  if (target && /^https:\/\/open\.spotify\.com\//i.test(target)) return parseLink(target);
  if (url.pathname === '/' || url.pathname === '') {
    throw invalid(`short link "${clip(link)}" has no path: paste the whole link`);
  }
  url.protocol = 'https:';
  url.hash = '';
  return { type: 'redirect', platform, url: url.toString() };
}

// Spotify ------------------------------------------------------------------------------------------------

const spotifyKinds: Readonly<Record<string, TrackRefKind>> = {
  track: 'track',
  album: 'album',
  playlist: 'playlist',
  artist: 'artist',
};
const spotifyId = /^[0-9A-Za-z]{22}$/;

function parseSpotifyPath(segments: string[], link: string, highlight: string | null): TrackRef {
  let rest = segments;
  let language: string | undefined;
  // `intl-ja`, `intl-zh-hant`, `intl-pt`: the interface language of the page, not a storefront.
  const locale = rest[0] ? /^intl-([a-z]{2}(?:[-_][a-z]{2,4})?)$/i.exec(rest[0]) : null;
  if (locale) {
    language = locale[1]!.toLowerCase().replace('_', '-');
    rest = rest.slice(1);
  }
  if (rest[0] === 'embed') rest = rest.slice(1);
  // Legacy playlist links: /user/<name>/playlist/<id>
  if (rest[0] === 'user' && rest[2] === 'playlist') rest = rest.slice(2);
  const ref = spotifyRef(rest[0], rest[1], link, language);
  // A track shared from its album page: `/album/<id>?highlight=spotify:track:<id>` names that track.
  const highlighted = highlight ? /^spotify:track:([0-9A-Za-z]{22})$/.exec(highlight.trim()) : null;
  if (ref.type === 'platform' && ref.kind === 'album' && highlighted?.[1]) {
    return { ...spotifyRef('track', highlighted[1], link, language), albumId: ref.id } as TrackRef;
  }
  return ref;
}

function parseSpotifyUri(uri: string): TrackRef {
  const parts = uri.split(':');
  // spotify:user:<name>:playlist:<id>
  if (parts[1]?.toLowerCase() === 'user' && parts[3] === 'playlist')
    return spotifyRef('playlist', parts[4], uri);
  if (parts.length !== 3) {
    throw invalid(`malformed Spotify URI "${clip(uri)}": expected spotify:track:<22-character id>`);
  }
  return spotifyRef(parts[1]?.toLowerCase(), parts[2], uri);
}

function spotifyRef(
  kindName: string | undefined,
  id: string | undefined,
  link: string,
  language?: string,
): TrackRef {
  const kind = kindName === undefined ? undefined : spotifyKinds[kindName];
  if (!kind) {
    if (kindName === 'episode' || kindName === 'show') {
      throw invalid(
        `Spotify podcasts are not supported ("${clip(link)}"): paste a track, album, playlist or artist`,
      );
    }
    throw invalid(
      `unsupported Spotify link "${clip(link)}": expected open.spotify.com/track/<id> (or album, playlist, artist)`,
    );
  }
  if (id === undefined || !spotifyId.test(id)) {
    throw invalid(
      `malformed Spotify ${kind} id "${clip(id ?? '')}" in "${clip(link)}": expected 22 letters and digits (base62)`,
    );
  }
  return {
    type: 'platform',
    platform: 'spotify',
    kind,
    id,
    url: `https://open.spotify.com/${kind}/${id}`,
    ...(language ? { language } : {}),
  };
}

// Deezer -------------------------------------------------------------------------------------------------

const deezerKinds: Readonly<Record<string, TrackRefKind>> = {
  track: 'track',
  album: 'album',
  playlist: 'playlist',
  artist: 'artist',
};
const deezerId = /^\d{1,20}$/;

function parseDeezerPath(segments: string[], link: string): TrackRef {
  let rest = segments;
  let language: string | undefined;
  // `/fr/`, `/pt-br/`: the interface language of deezer.com, not a storefront.
  const locale = rest[0] ? /^([a-z]{2}(?:-[a-z]{2})?)$/i.exec(rest[0]) : null;
  if (locale && rest.length > 1) {
    language = locale[1]!.toLowerCase();
    rest = rest.slice(1);
  }
  const kind = rest[0] ? deezerKinds[rest[0].toLowerCase()] : undefined;
  if (!kind) {
    throw invalid(
      `unsupported Deezer link "${clip(link)}": expected deezer.com/track/<number> (or album, playlist, artist)`,
    );
  }
  const id = rest[1];
  if (id === undefined || !deezerId.test(id)) {
    throw invalid(`malformed Deezer ${kind} id "${clip(id ?? '')}" in "${clip(link)}": expected a number`);
  }
  return {
    type: 'platform',
    platform: 'deezer',
    kind,
    id,
    url: `https://www.deezer.com/${kind}/${id}`,
    ...(language ? { language } : {}),
  };
}

// Apple Music ----------------------------------------------------------------------------------------------

const appleNumericId = /^(?:id)?(\d{1,20})$/;
const applePlaylistId = /^pl\.[A-Za-z0-9-]{4,64}$/;

function parseApplePath(segments: string[], url: URL, link: string): TrackRef {
  let rest = segments;
  let region: string | undefined;
  if (rest[0] && /^[a-z]{2}$/i.test(rest[0])) {
    region = rest[0].toLowerCase();
    rest = rest.slice(1);
  }
  const kindName = rest[0]?.toLowerCase();
  // The id is the last segment: /album/<slug>/<id>, /album/<id>, or legacy /album/<slug>/id<id>.
  const idSegment = rest.length > 1 ? rest.at(-1) : undefined;
  const expected =
    'expected music.apple.com/<country>/album/<name>/<number>?i=<number> (or song, playlist, artist)';
  const storefront = region ?? 'us';

  if (kindName === 'album' || kindName === 'song' || kindName === 'artist') {
    const numeric = idSegment === undefined ? null : appleNumericId.exec(idSegment);
    if (!numeric) {
      throw invalid(
        `malformed Apple Music ${kindName} id "${clip(idSegment ?? '')}" in "${clip(link)}": ${expected}`,
      );
    }
    const id = numeric[1]!;
    const regionField = region ? { region } : {};
    if (kindName === 'album') {
      const trackId = url.searchParams.get('i');
      if (trackId !== null) {
        if (!/^\d{1,20}$/.test(trackId)) {
          throw invalid(
            `malformed Apple Music track id "?i=${clip(trackId)}" in "${clip(link)}": expected a number`,
          );
        }
        return {
          type: 'platform',
          platform: 'apple',
          kind: 'track',
          id: trackId,
          albumId: id,
          url: `https://music.apple.com/${storefront}/album/${id}?i=${trackId}`,
          ...regionField,
        };
      }
      return {
        type: 'platform',
        platform: 'apple',
        kind: 'album',
        id,
        url: `https://music.apple.com/${storefront}/album/${id}`,
        ...regionField,
      };
    }
    const kind: TrackRefKind = kindName === 'song' ? 'track' : 'artist';
    return {
      type: 'platform',
      platform: 'apple',
      kind,
      id,
      url: `https://music.apple.com/${storefront}/${kindName}/${id}`,
      ...regionField,
    };
  }
  if (kindName === 'playlist') {
    if (idSegment === undefined || !applePlaylistId.test(idSegment)) {
      throw invalid(
        `malformed Apple Music playlist id "${clip(idSegment ?? '')}" in "${clip(link)}": expected pl.<letters and digits>`,
      );
    }
    return {
      type: 'platform',
      platform: 'apple',
      kind: 'playlist',
      id: idSegment,
      url: `https://music.apple.com/${storefront}/playlist/${idSegment}`,
      ...(region ? { region } : {}),
    };
  }
  throw invalid(`unsupported Apple Music link "${clip(link)}": ${expected}`);
}

// YouTube --------------------------------------------------------------------------------------------------

const youTubeVideoId = /^[A-Za-z0-9_-]{11}$/;
const youTubePlaylistId = /^[A-Za-z0-9_-]{12,80}$/;
const youTubeChannelId = /^UC[A-Za-z0-9_-]{22}$/;

function parseYouTubePath(segments: string[], url: URL, link: string): TrackRef {
  const first = segments[0]?.toLowerCase();
  if (first === undefined || first === 'watch') {
    const video = url.searchParams.get('v');
    if (video !== null) return youTubeVideo(video, link);
    const list = url.searchParams.get('list');
    if (list !== null) return youTubePlaylist(list, link);
    throw invalid(
      `YouTube link "${clip(link)}" has no video: expected youtube.com/watch?v=<11-character id>`,
    );
  }
  if (['shorts', 'embed', 'live', 'v', 'e'].includes(first)) return youTubeVideo(segments[1], link);
  if (first === 'playlist') {
    const list = url.searchParams.get('list');
    if (list !== null) return youTubePlaylist(list, link);
  }
  if (first === 'channel' && segments[1] !== undefined && youTubeChannelId.test(segments[1])) {
    const id = segments[1];
    return {
      type: 'platform',
      platform: 'youtube',
      kind: 'artist',
      id,
      url: `https://www.youtube.com/channel/${id}`,
    };
  }
  throw invalid(
    `unsupported YouTube link "${clip(link)}": expected youtube.com/watch?v=…, youtu.be/…, /shorts/…, /embed/…, /live/… or /playlist?list=…`,
  );
}

function youTubeVideo(id: string | undefined, link: string): TrackRef {
  if (id === undefined || !youTubeVideoId.test(id)) {
    throw invalid(
      `malformed YouTube video id "${clip(id ?? '')}" in "${clip(link)}": expected 11 letters, digits, "-" or "_"`,
    );
  }
  return {
    type: 'platform',
    platform: 'youtube',
    kind: 'track',
    id,
    url: `https://www.youtube.com/watch?v=${id}`,
  };
}

function youTubePlaylist(id: string, link: string): TrackRef {
  if (!youTubePlaylistId.test(id)) {
    throw invalid(
      `malformed YouTube playlist id "${clip(id)}" in "${clip(link)}": expected 12 or more letters, digits, "-" or "_"`,
    );
  }
  return {
    type: 'platform',
    platform: 'youtube',
    kind: 'playlist',
    id,
    url: `https://www.youtube.com/playlist?list=${id}`,
  };
}

// Helpers --------------------------------------------------------------------------------------------------

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Shortens user text quoted in a message, so a pasted essay does not flood logs. */
function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function invalid(message: string, cause?: unknown): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, message, cause === undefined ? {} : { cause });
}
