import {
  gradeRank,
  type MatchGrade,
  meetsGrade,
  type TrackMetadata,
  verifiedDurationToleranceMs,
} from '@nexstream/core';
import anyAscii from 'any-ascii';
import {
  containsWords,
  foldText,
  scriptsOf,
  sharesScript,
  splitArtistCredit,
  textSimilarity,
} from './text-normalize.js';

/**
 * Where a video comes from, as far as the title and channel tell:
 * - `art-track`: an auto-generated upload (a "… - Topic" channel, or catalogue fields yt-dlp parsed from the
 *   "Provided to YouTube by …" description): the label's own audio.
 * - `artist`: the artist's channel, including `…VEVO` and "Official" channels.
 * - `verified`: another channel with the verified badge (labels such as HYBE LABELS or 1theK, curators).
 * - `other`: anyone else (fan uploads, lyric channels, covers).
 */
export type ChannelKind = 'art-track' | 'artist' | 'verified' | 'other';

/**
 * A video as the scorer needs it: the fields of a `yt-dlp --flat-playlist` search entry (`id`, `title`,
 * `duration` in seconds → `durationMs`, `channel`, `channel_id`, `view_count`, `channel_is_verified`) plus,
 * after `yt-dlp -J`, the art-track fields (`track`, `artists`, `album`) as {@link MatchCandidate.artTrack}.
 * The engines' `VideoCandidate` is assignable to it as is.
 */
export interface MatchCandidate {
  /** The site's video id (11 characters on YouTube). */
  id: string;
  title: string;
  channel?: string;
  channelId?: string;
  /** yt-dlp `channel_is_verified`. */
  channelVerified?: boolean;
  /** yt-dlp `duration` × 1000. */
  durationMs?: number;
  viewCount?: number;
  /** A live stream or premiere (yt-dlp `live_status` `is_live` / `is_upcoming`): never a recording. */
  live?: boolean;
  /** Catalogue fields of an art track (yt-dlp `track`, `artists`, `album`). */
  artTrack?: { title: string; artists: string[]; album?: string };
  /** A caller's classification of the channel, used instead of the scorer's own guess. */
  channelKind?: ChannelKind;
  /**
   * The video came from a search by the track's ISRC: `true`, or the ISRC searched (then it must equal the
   * track's ISRC). The race decides whether that ISRC is authoritative before it sets this.
   */
  foundByIsrc?: string | boolean;
  /**
   * The search service's own kind of upload (YouTube Music's `musicVideoType`): an `art-track` counts as an
   * art-track channel, an `official-video` as the artist's channel, an `episode` is never a recording.
   */
  resultType?: 'art-track' | 'official-video' | 'user-upload' | 'episode';
  /** Every credited artist (YouTube Music), used as artist evidence beside the channel and the title. */
  credits?: ReadonlyArray<{ name: string; channelId?: string }>;
  /** The release the result belongs to (YouTube Music), compared with the track's album like an art track's. */
  album?: { title: string; id?: string };
  /** The service's explicit badge (`false`: it labels songs and this one has none). */
  explicit?: boolean;
  /** Plays of a song (YouTube Music); used like `viewCount` for the tie-break when there is no view count. */
  plays?: number;
  /** 1-based position in its search; breaks a tie in score before the order of arrival. */
  rank?: number;
  /** Came from the search's top-result shelf. */
  topResult?: boolean;
}

/** The score thresholds that turn a score into a grade (see {@link defaultMatchThresholds}). */
export interface MatchThresholds {
  /** Minimum score for `exact` (with the title, artist, duration and channel conditions). */
  exact: number;
  /** Minimum score for `strong`: settles once the tiers that could still beat it are done. */
  strong: number;
  /** Minimum score for `fuzzy`: held for the grace period. Below it: `rejected`. */
  fuzzy: number;
}

/**
 * The grade thresholds, chosen on the evaluation set in `eval/cases` (`npm run eval` prints the sweep;
 * figures are shares of all labeled candidates, not only of the first-ranked ones):
 * - `strong` 0.85: wrong candidates graded strong fall from 2.3 % at 0.70 to 0.4 % at 0.84–0.86, while
 *   acceptable ones stay at ~98 %; above 0.88 acceptable ones start to drop (96 % at 0.90, 68 % at 0.94,
 *   where faithful uploads on non-artist channels fall out). 0.85 sits at the start of that plateau. The
 *   starting point was the 0.85 of the reference proposal (`shared/reference/provider-apis.md` §3).
 * - `fuzzy` 0.70: kept from the reference. Correct answers with weak evidence (artist in another script,
 *   an art track missing a guest credit) score 0.82–0.89 and land here; wrong candidates that survive the
 *   hard rejects score 0.70–0.88, so fuzzy is a "hold and hope for better" band, never a settle.
 * - `exact` 0.93: together with title ≥ 0.95, artist ≥ 0.9, |Δ| ≤ 2 s, no penalty and an art-track or
 *   artist channel, it admits only the label's or the artist's own upload of the recording.
 */
export const defaultMatchThresholds: Readonly<MatchThresholds> = Object.freeze({
  exact: 0.93,
  strong: 0.85,
  fuzzy: 0.7,
});

/**
 * The weight of each part in the score; they sum to 1. `album` only counts when both the track and the
 * candidate name an album (art tracks); otherwise the others are scaled up to fill its share.
 */
export const matchWeights = Object.freeze({
  title: 0.3,
  artist: 0.25,
  duration: 0.25,
  channel: 0.12,
  album: 0.08,
});

/** The channel part for each {@link ChannelKind}. */
export const channelKindScores: Readonly<Record<ChannelKind, number>> = Object.freeze({
  'art-track': 1,
  artist: 0.85,
  verified: 0.6,
  other: 0.35,
});

export { verifiedDurationToleranceMs };

/**
 * The largest duration gap accepted at all, in milliseconds: 7 % of the track, at least 8 s and at most
 * 60 s. Music-video intros (15–60 s), sped-up/slowed edits (±15–25 %), loops and radio edits fall outside;
 * YouTube's whole-second rounding, fades and short logo stings (≤ 5 s) fall inside.
 */
export function durationRejectLimitMs(trackDurationMs: number): number {
  return Math.round(Math.min(60_000, Math.max(8000, trackDurationMs * 0.07)));
}

/**
 * The duration part, 0–1: 1 within {@link verifiedDurationToleranceMs}, then `exp(−(Δ − 2 s) / 8 s)`
 * (Δ 5 s → 0.69, 10 s → 0.37, 15 s → 0.2). `0.5` when either duration is unknown.
 */
export function durationCloseness(
  trackDurationMs: number | undefined,
  candidateDurationMs: number | undefined,
): number {
  if (!trackDurationMs || !candidateDurationMs) return 0.5;
  const gapMs = Math.abs(trackDurationMs - candidateDurationMs);
  if (gapMs <= verifiedDurationToleranceMs) return 1;
  return Math.exp(-(gapMs - verifiedDurationToleranceMs) / 8000);
}

/**
 * Words that mark another recording or an altered copy. Found in the candidate but not in the track's title,
 * album or artists, each costs `versionPenalty` (0.30); `radio-edit` costs `radioEditPenalty` (0.15).
 */
export type VersionTag =
  | 'live'
  | 'cover'
  | 'karaoke'
  | 'instrumental'
  | 'acapella'
  | 'remix'
  | 'sped-up'
  | 'slowed'
  | 'nightcore'
  | '8d'
  | 'reverb'
  | 'bass-boosted'
  | 'extended'
  | 'loop'
  | 'acoustic'
  | 'demo'
  | 'not-the-song'
  | 'radio-edit'
  | 'solo'
  | 'alternate';

const phrase = (...words: string[]) => new RegExp(`(?:^| )(?:${words.join('|')})(?= |$)`);

/** Patterns over folded text (see `foldText`: lower case, punctuation → spaces). */
const versionPatterns: ReadonlyArray<readonly [VersionTag, RegExp]> = [
  [
    'live',
    phrase(
      'live',
      'en vivo',
      'ao vivo',
      'en directo',
      'dal vivo',
      'in concert',
      'concert',
      'unplugged',
      'live session',
      'tour',
      'ライブ',
      '라이브',
      'концерт',
      'живое выступление',
      'лайв',
      'na zywo',
      'koncert',
      'लाइव',
      '现场',
      '現場',
      '现场版',
      '現場版',
      'live版',
      'הופעה חיה',
      'מופע חי',
      'مباشر',
    ),
  ],
  [
    'cover',
    phrase(
      'cover',
      'covers',
      'covered by',
      'cover version',
      'tribute',
      'tribute to',
      'in the style of',
      'made famous by',
      'originally performed by',
      'original artist',
      'オリジナルアーティスト',
      'オリジナル歌手',
      '原唱',
      '8 bit',
      '8bit',
      '16 bit',
      '16bit',
      '32 bit',
      'chiptune',
      'chip tune',
      'emulation',
      'midi',
      'music box',
      'orgel',
      'オルゴール',
      'piano cover',
      'guitar cover',
      'violin cover',
      'cello cover',
      'ukulele cover',
      'drum cover',
      'bass cover',
      'vocal cover',
      '翻唱',
      'קאבר',
      'كوفر',
      'parody',
      'parodie',
      'пародия',
      'カバー',
      '歌ってみた',
      '弾いてみた',
      '커버',
      'кавер',
    ),
  ],
  [
    'karaoke',
    phrase(
      'karaoke',
      'カラオケ',
      '노래방',
      'караоке',
      'karaoke version',
      'sing along',
      'singalong',
      'backing track',
      'minus one',
      'минус',
      '伴奏',
      'كاريوكي',
      'קריוקי',
    ),
  ],
  [
    'instrumental',
    phrase(
      'instrumental',
      'inst',
      'off vocal',
      'オフボーカル',
      'no vocals',
      'without vocals',
      'type beat',
      '纯音乐',
      '純音樂',
      'инструментал',
      'instrumentalna',
      '반주',
    ),
  ],
  ['acapella', phrase('acapella', 'a cappella', 'acappella', 'a capella', 'vocals only', 'vocal only')],
  [
    'remix',
    phrase(
      'remix',
      'remixed',
      'rmx',
      'bootleg',
      'rework',
      'mashup',
      'mash up',
      'vip mix',
      'club mix',
      'リミックス',
      '리믹스',
      'ремикс',
      'ريمكس',
      'רמיקס',
      'lofi',
      'lo fi',
      'lofi remix',
      'tiktok version',
    ),
  ],
  ['sped-up', phrase('sped up', 'speed up', 'spedup', 'speedup', 'sped', 'nightcore version', '加速版')],
  ['slowed', phrase('slowed', 'slowed down', 'daycore', 'slowed reverb', '降速版')],
  ['nightcore', phrase('nightcore')],
  ['8d', phrase('8d', '8d audio', '16d', '9d')],
  ['reverb', phrase('reverb', 'reverbed')],
  ['bass-boosted', phrase('bass boosted', 'bassboosted', 'bass boost')],
  ['extended', phrase('extended', 'extended version', 'extended mix')],
  [
    'loop',
    phrase('loop', 'looped', '\\d+ hours?', 'one hour', 'hour version', '1h', '\\d+ час', '\\d+시간', '耐久'),
  ],
  [
    'acoustic',
    phrase(
      'acoustic',
      'acoustic version',
      'piano version',
      'stripped',
      'orchestral version',
      'アコースティック',
    ),
  ],
  ['demo', phrase('demo')],
  [
    'not-the-song',
    phrase(
      'reaction',
      'reacts',
      'reacting',
      'tutorial',
      'lesson',
      'how to play',
      'teaser',
      'trailer',
      'preview',
      'snippet',
      'shorts',
      'behind the scenes',
      'making of',
      'interview',
      'dance practice',
      'fancam',
    ),
  ],
  ['radio-edit', phrase('radio edit', 'radio version', 'single edit', 'radio mix')],
  ['solo', phrase('solo version', 'solo ver')],
];

/** Tags also read from the channel name (`Sing King Karaoke`, `Nightcore Reality`, `10 Hours Music`). */
const channelVersionTags: ReadonlySet<VersionTag> = new Set([
  'karaoke',
  'nightcore',
  'sped-up',
  'slowed',
  '8d',
  'loop',
]);

/** Penalty for each version tag in the candidate but not in the track. */
export const versionPenalty = 0.3;
/** Version penalties stop adding up here: two tags already reject anything. */
export const maxVersionPenalty = 0.6;
/** Penalty for a radio/single edit the track does not ask for (same recording, shortened). */
export const radioEditPenalty = 0.15;
/** Penalty for each different-recording tag of the track's title the candidate lacks (a live track, a studio video). */
export const missingVersionPenalty = 0.2;
/** Penalty for a clean candidate when the track is explicit, and the other way round. */
export const explicitMismatchPenalty = 0.3;
/** Penalty for two remasters of different years. */
export const remasterConflictPenalty = 0.2;
/** Penalty for a music video more than 5 s off the track: an intro, an outro or a skit. */
export const musicVideoGapPenalty = 0.1;
/** Penalty for a credited guest (`feat.`, `with`) the track does not credit: another version of the song. */
export const extraGuestPenalty = 0.25;
/**
 * Penalty for an art track that leaves out one of the track's artists: the lead artist missing from its
 * credits, or a guest missing from both its credits and its title while it sits on another release than the
 * track (the solo version of a song whose single has a guest). A guest that only the credits drop, on the
 * track's own release, is the same recording: services such as YouTube Music often credit the lead artist
 * alone. Video titles often drop guests, so this only applies to art tracks, and not to one found by the
 * track's ISRC (the ISRC ties the recording whatever the credits say).
 */
export const missingArtistPenalty = 0.15;
/** Penalty for bracketed words that are neither noise, a version, a credit, nor part of the track (`(Restrung)`). */
export const unexplainedBracketPenalty = 0.04;
/**
 * The largest duration gap for `strong`, in milliseconds: beyond it the audio has an intro, an outro or
 * another edit more often than not, so the candidate is at most `fuzzy` (held for the grace period).
 */
export const strongDurationGapMs = 5000;
/** The most the view count adds, as a tie-break (1e9 views → the whole bonus). */
export const maxViewsBonus = 0.02;

const cleanPattern = phrase('clean', 'clean version', 'censored', 'edited', 'radio clean', 'super clean');
const explicitPattern = phrase('explicit', 'uncensored', 'dirty', 'explicit version');
const remasterPattern = /(?:^| )(?:(\d{4}) )?(?:digital(?:ly)? )?remaster(?:ed)?(?: (\d{4}))?(?= |$)/;
/** `2017 Master`, `Master 2017`: a dated master is a remaster (a bare "master" is an ordinary word). */
const datedMasterPattern = /(?:^| )(?:(\d{4}) (?:digital )?master(?:ed)?|master(?:ed)? (\d{4}))(?= |$)/;
const musicVideoPattern = phrase(
  'official video',
  'official music video',
  'music video',
  'official hd video',
  'mv',
  'm v',
  'clip officiel',
  'video oficial',
  'videoclip',
  'music clip',
  'ミュージックビデオ',
  '뮤직비디오',
  'клип',
);

/**
 * Folded phrases that say nothing about which recording a video holds; removed before titles are compared.
 * Longest first, so `official music video` goes before `official`.
 */
const noisePhrases = [
  'official music video',
  'official lyric video',
  'official lyrics video',
  'official visualizer',
  'official visualiser',
  'official audio',
  'official video',
  'official hd video',
  'official mv',
  'lyric video',
  'lyrics video',
  'music video',
  'music clip',
  'clip officiel',
  'clip oficial',
  'video oficial',
  'audio oficial',
  'video clip',
  'videoclip',
  'visualizer',
  'visualiser',
  'with lyrics',
  'lyrics',
  'lyric',
  'letra',
  'con letra',
  'paroles',
  'color coded',
  'han rom eng',
  'kan rom eng',
  'rom eng',
  'lyrical',
  '歌詞付き',
  '歌詞',
  '動態歌詞',
  '字幕',
  '가사',
  'текст',
  'текст песни',
  'eng sub',
  'full song',
  'full audio',
  'audio',
  'video',
  'official',
  'hd',
  'hq',
  '4k',
  '1080p',
  '720p',
  '60fps',
  'mv',
  'm v',
  'explicit',
  'clean',
  'premiere',
  'out now',
  'new song',
  '公式',
  'ミュージックビデオ',
  '뮤직비디오',
  'официальный клип',
  'клип',
  'официальное видео',
  'ออฟฟิเชียล',
  'अधिकारिक वीडियो',
  'आधिकारिक वीडियो',
].sort((a, b) => b.length - a.length);

/** Channel words that are not part of the artist's name. */
const channelNoise = phrase(
  'official',
  'officiel',
  'oficial',
  'vevo',
  'topic',
  'channel',
  'youtube',
  'official artist channel',
  '公式',
  'オフィシャル',
);

function removeNoise(folded: string): string {
  let text = ` ${folded} `;
  for (const noise of noisePhrases) {
    const padded = ` ${noise} `;
    while (text.includes(padded)) text = text.replace(padded, ' ');
  }
  return text.replace(/\s+/g, ' ').trim();
}

function detectVersionTags(folded: string): Set<VersionTag> {
  const tags = new Set<VersionTag>();
  for (const [tag, pattern] of versionPatterns) if (pattern.test(folded)) tags.add(tag);
  return tags;
}

/** `(2019 Mix)`, `(Taylor's Version)`, `(Take 37)`, `(Club Edit)`: another mix, take or recording. */
const alternatePattern = /(?:^| )(?:mix|version|ver|take|edit|mono)(?= |$)/;
const sameRecordingPattern =
  /(?:^| )(?:original|album|full|official|lyrics?|explicit|clean|dirty|censored|uncensored) (?:mix|version|ver|edit)(?= |$)/;

function isAlternateDescriptor(descriptor: string): boolean {
  return (
    alternatePattern.test(descriptor) &&
    detectVersionTags(descriptor).size === 0 &&
    !sameRecordingPattern.test(descriptor) &&
    !remasterYears(descriptor).remaster
  );
}

/**
 * A descriptor that names a subset of the credits: `just Lennon`, `Dua only`, `solo`, `without Drake`,
 * `sans Orelsan`, `sin Bad Bunny`, `ohne Apache`. That is another version of a song with several artists.
 */
const subsetCreditPattern =
  /^(?:(?:just|only|without|sans|sin|ohne|senza|bez|без) \S.*|\S.* only|solo|solo version|solo ver)$/;

/** Tags of a title's descriptors (brackets, suffixes), including `alternate` and `solo`. */
function descriptorTags(descriptors: readonly string[]): Map<VersionTag, string[]> {
  const tags = new Map<VersionTag, string[]>();
  const add = (tag: VersionTag, descriptor: string) => tags.set(tag, [...(tags.get(tag) ?? []), descriptor]);
  for (const descriptor of descriptors) {
    for (const tag of detectVersionTags(descriptor)) add(tag, descriptor);
    if (subsetCreditPattern.test(descriptor)) add('solo', descriptor);
    if (isAlternateDescriptor(descriptor)) add('alternate', descriptor);
  }
  return tags;
}

const descriptorStopWords = new Set(
  'version ver mix edit remix remixed live at from in on the of a an and official video audio session sessions take'.split(
    ' ',
  ),
);

/** What a descriptor says beyond its version word: `alesso` in `alesso remix`, `on mtv 1994` in `live on mtv 1994`. */
function descriptorResidual(descriptor: string): string[] {
  return descriptor.split(' ').filter((word) => word !== '' && !descriptorStopWords.has(word));
}

/**
 * Whether two descriptors of the same kind name different versions (`Alesso Remix` against `Afrojack Remix`,
 * `Live On MTV, 1994` against `Live 1977`). Unknown (one says nothing more) is not a conflict.
 */
function descriptorsConflict(
  trackDescriptors: readonly string[],
  candidateDescriptors: readonly string[],
): boolean {
  for (const trackDescriptor of trackDescriptors) {
    const left = descriptorResidual(trackDescriptor);
    if (left.length === 0) return false;
    for (const candidateDescriptor of candidateDescriptors) {
      const right = descriptorResidual(candidateDescriptor);
      if (right.length === 0) return false;
      const leftSet = new Set(left);
      const rightSet = new Set(right);
      if (right.every((word) => leftSet.has(word)) || left.every((word) => rightSet.has(word))) return false;
      if (textSimilarity(left.join(' '), right.join(' ')) >= 0.6) return false;
    }
  }
  return trackDescriptors.length > 0 && candidateDescriptors.length > 0;
}

function remasterYears(folded: string): { remaster: boolean; year?: string } {
  const match = remasterPattern.exec(folded) ?? datedMasterPattern.exec(folded);
  if (!match) return { remaster: false };
  const year = match[1] ?? match[2];
  return year ? { remaster: true, year } : { remaster: true };
}

/** A title taken apart: the strings that may be the song title, and the strings that may name artists. */
interface ParsedTitle {
  /** Folded, noise-free candidates for the song title. */
  titles: string[];
  /** Raw strings that may name the artist (split parts, text outside quotes, kept bracket contents). */
  artistHints: string[];
  /** Names credited with feat./ft./featuring/with. */
  featured: string[];
  /** Credits as written (`Rihanna, Bryson Tiller`), each with its names, to check against the track. */
  credits: string[][];
  /** Folded contents of brackets (and of ` - Live` style suffixes): where version descriptors live. */
  descriptors: string[];
  /** Folded bracket contents that are neither noise, version, nor credit (`restrung`, an alias). */
  unexplained: string[];
}

const bracketPattern = /[([{【〔［]([^()[\]{}【】〔〕［］]*)[)\]}】〕］]/g;
const quotePattern = /[『「“"]([^』」”"]+)[』」”"]|(?:^|\s)'([^']+)'(?=\s|$|[([])/g;
const featPattern = /^(?:feat\.?|ft\.?|featuring|with|prod\.?(?: by)?)\s+/i;
const inlineFeatPattern = /\s(?:feat\.?|ft\.?|featuring)\s+(.+?)(?=\s[-–—|~]\s|$)/i;
const separatorPattern = /\s+[-–—~|｜/]\s+|\s*[|｜]\s*|\s+-(?=\S)|(?<=\S)-\s+/;

/**
 * Takes a video title (or a catalogue title) apart: bracketed noise, version words and feat. credits come
 * out; `Artist - Title`, `Title | Artist` and `Artist 『Title』` are split so each side can be tried as the
 * title and the other as the artist.
 */
function parseTitle(raw: string, options: { catalogue?: boolean } = {}): ParsedTitle {
  const text = raw.normalize('NFKC');
  const featured: string[] = [];
  const credits: string[][] = [];
  const descriptors: string[] = [];
  const unexplained: string[] = [];
  const artistHints: string[] = [];
  const credit = (names: string) => {
    const split = splitArtistCredit(names);
    if (split.length === 0) return;
    featured.push(...split);
    credits.push(split.length > 1 ? split.slice(1) : split);
  };
  const quoted: string[] = [];
  for (const match of text.matchAll(quotePattern)) {
    const inner = (match[1] ?? match[2] ?? '').trim();
    if (inner !== '') quoted.push(inner);
  }
  let keptBrackets = text;
  const bracketFree = text.replace(bracketPattern, (_whole, inner: string) => {
    const content = inner.trim();
    if (featPattern.test(content)) {
      if (!/^prod/i.test(content)) credit(content.replace(featPattern, ''));
      keptBrackets = keptBrackets.replace(_whole, ' ');
      return ' ';
    }
    const folded = foldText(content);
    if (folded !== '') descriptors.push(folded);
    if (removeNoise(folded) === '' || detectVersionTags(folded).size > 0 || remasterYears(folded).remaster) {
      keptBrackets = keptBrackets.replace(_whole, ' ');
    } else {
      artistHints.push(content);
      unexplained.push(removeNoise(folded));
    }
    return ' ';
  });
  const withoutFeat = (value: string) =>
    value.replace(inlineFeatPattern, (_whole, names: string) => {
      credit(names);
      return ' ';
    });
  const titles = new Set<string>();
  const add = (value: string) => {
    const cleaned = removeNoise(foldText(value));
    if (cleaned !== '') titles.add(cleaned);
  };
  for (const base of [withoutFeat(bracketFree), withoutFeat(keptBrackets)]) {
    add(base);
    const parts = base.split(separatorPattern).filter((part) => removeNoise(foldText(part)) !== '');
    if (parts.length > 1) {
      for (const [index, part] of parts.entries()) {
        const folded = foldText(part);
        if (detectVersionTags(folded).size > 0 || (options.catalogue && index > 0)) descriptors.push(folded);
        add(part);
        artistHints.push(part);
      }
    }
  }
  for (const inner of quoted) {
    add(inner);
    const outside = withoutFeat(bracketFree).replace(inner, ' ');
    if (removeNoise(foldText(outside)) !== '') artistHints.push(outside);
  }
  return {
    titles: [...titles],
    artistHints,
    featured: [...new Set(featured)],
    credits,
    descriptors: [...new Set(descriptors)],
    unexplained: [...new Set(unexplained)],
  };
}

/**
 * A catalogue title's forms to compare (folded): the title, and the same without brackets, feat. credits and
 * a `- Remastered 2011`-style suffix. The one title stripper of the scorer and the ISRC authority check.
 */
export function catalogueTitles(title: string): string[] {
  const normalized = title.normalize('NFKC');
  const titles = new Set<string>([foldText(normalized)]);
  const core = normalized
    .replace(bracketPattern, ' ')
    .replace(inlineFeatPattern, ' ')
    .replace(/\s+[-–—]\s+.*$/, ' ');
  const folded = removeNoise(foldText(core));
  if (folded !== '') titles.add(folded);
  return [...titles].filter((value) => value !== '');
}

function bestSimilarity(left: string[], right: string[]): number {
  let best = 0;
  for (const a of left) for (const b of right) best = Math.max(best, textSimilarity(a, b));
  return best;
}

/** The lowest similarity of two titles transliterated to ASCII for them to count as the same title. */
export const transliteratedTitleAgreement = 0.85;
/**
 * The title (or album) part given on transliteration alone: enough for `strong`, never for `exact` (0.95) or
 * `verified` (0.8 with an ISRC, 0.9 for an art track): a transliteration is weak evidence.
 */
export const transliteratedTitleScore = 0.85;

/**
 * Scripts whose romanizations disagree on vowels: Hebrew and Arabic mostly leave them out, Devanagari's
 * inherent vowel is dropped by any-ascii (`कबीरा` → `kbira`) and written by people (`Kabira`), and Greek has
 * several spellings of each vowel (`η`, `ι`, `υ`, `ει`, `οι` are all `i`).
 */
const outlineScripts = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Devanagari}\p{Script=Greek}]/u;

/**
 * A name's consonant outline in ASCII: common romanization digraphs read one way (`ch`, `kh`, `x` → `h`;
 * `th` → `t`; `ph` → `f`; `ev`, `ey` → `ef`), then vowels, `y`/`w` (Hebrew and Arabic write vowels with those
 * letters or not at all), apostrophes and doubled letters removed, `w` read as `v` (`ו`). `תל אביב` → `tl vv`,
 * as `Tel Aviv`; `Σ' έχω ερωτευτεί` (any-ascii `S' echo eroteytei`) → `s h rtft`, as Greeklish `S'eho Erotefthi`.
 */
function consonantOutline(ascii: string): string {
  return ascii
    .toLowerCase()
    .replace(/ch|kh|x/g, 'h')
    .replace(/th/g, 't')
    .replace(/ph/g, 'f')
    .replace(/e[vy]/g, 'ef')
    .replace(/w/g, 'v')
    .replace(/[aeiouy'`]/g, '')
    .replace(/([a-z])\1+/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * How alike two texts in different writing systems are once both are transliterated to ASCII (any-ascii),
 * 0–1. For scripts whose romanizations disagree on vowels (see `outlineScripts`), the consonant outlines are
 * compared too.
 */
function transliteratedSimilarity(left: string[], right: string[]): number {
  const ascii = (value: string) => foldText(anyAscii(value));
  let best = 0;
  for (const a of left) {
    for (const b of right) {
      const [asciiA, asciiB] = [ascii(a), ascii(b)];
      if (asciiA === '' || asciiB === '') continue;
      best = Math.max(best, textSimilarity(asciiA, asciiB));
      if (outlineScripts.test(a) || outlineScripts.test(b)) {
        // `ו` is a consonant (`v`) or a vowel (`o`, `u`): compare the outlines with it and without it.
        for (const dropV of [false, true]) {
          const outline = (value: string) => {
            const full = consonantOutline(value);
            return dropV ? full.replace(/v/g, '').replace(/\s+/g, ' ').trim() : full;
          };
          const [outlineA, outlineB] = [outline(asciiA), outline(asciiB)];
          // Short outlines agree by chance: only names with enough consonants count.
          if (outlineA.replace(/ /g, '').length >= 3 && outlineB.replace(/ /g, '').length >= 3) {
            best = Math.max(best, textSimilarity(outlineA, outlineB));
          }
        }
      }
    }
  }
  return best;
}

/** True when no word of `left` shares a writing system with any word of `right` (`तुम ही हो` / `Tum Hi Ho`). */
function otherScripts(left: string, right: string[]): boolean {
  return right.every((value) => !sharesScript(value, left));
}

function cleanChannel(channel: string): string {
  let folded = foldText(channel.replace(/\s-\sTopic$/i, ''));
  folded = folded.replace(/vevo$/, '').trim();
  let previous = '';
  while (previous !== folded) {
    previous = folded;
    folded = folded.replace(channelNoise, ' ').replace(/\s+/g, ' ').trim();
  }
  return folded;
}

function isTopicChannel(channel: string | undefined): boolean {
  return channel !== undefined && /\s-\sTopic$/i.test(channel.trim());
}

/** The score of one candidate against one track, with its parts and the reasons, for people. */
export interface CandidateScore {
  /**
   * The weighted parts (0–1) minus penalties plus the views tie-break; at least 0, and not capped at 1, so
   * candidates with more agreeing evidence never tie at the top.
   */
  score: number;
  grade: MatchGrade;
  /**
   * Named parts: `title`, `artist`, `duration`, `channel` (each 0–1), `album` when both sides name one,
   * `views` (the tie-break bonus), and one negative `penalty:<reason>` entry per penalty.
   */
  parts: Record<string, number>;
  /** Why the candidate was kept or rejected, most important first. */
  reasons: string[];
  /** How the channel was classified. */
  channelKind: ChannelKind;
  /** |track − candidate| in milliseconds, when both durations are known. */
  durationGapMs?: number;
}

/** Options for {@link scoreCandidate} and {@link rankCandidates}. */
export interface ScoreOptions {
  /** Overrides of {@link defaultMatchThresholds}. */
  thresholds?: Partial<MatchThresholds>;
}

/** A candidate with its score, as {@link rankCandidates} returns it. */
export type RankedCandidate<Candidate extends MatchCandidate = MatchCandidate> = CandidateScore & {
  candidate: Candidate;
};

export { meetsGrade };

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The lowest similarity of two names transliterated to ASCII for them to count as the same artist. */
export const transliterationAgreement = 0.85;
/** The artist part given on transliteration alone: enough for `strong`, never for `exact` (0.9). */
export const transliteratedArtistScore = 0.85;

/** The artist part for two credits that differ by a numeric suffix only (`Name` and `Name 2115`). */
export const suffixVariantScore = 0.9;

/**
 * True when two credits are the same name but for one trailing word holding a digit (`Name` / `Name 2115`,
 * `Kid Ink` / `Kid Ink 2`): services and channels add such suffixes to tell namesakes apart.
 */
function suffixVariant(a: string, b: string): boolean {
  const left = foldText(a).split(' ').filter(Boolean);
  const right = foldText(b).split(' ').filter(Boolean);
  const [shorter, longer] = left.length < right.length ? [left, right] : [right, left];
  if (shorter.length === 0 || longer.length !== shorter.length + 1) return false;
  if (shorter.join(' ').length < 3 || !/\d/.test(longer.at(-1) ?? '')) return false;
  return shorter.every((word, index) => longer[index] === word);
}

interface ArtistMatch {
  score: number;
  /** No evidence written in the artist's script: the artist could not be compared. */
  unknown: boolean;
}

function matchArtists(
  track: TrackMetadata,
  candidate: MatchCandidate,
  parsed: ParsedTitle,
  channel: string,
): ArtistMatch {
  const artists = track.artists.filter((artist) => artist.trim() !== '');
  if (artists.length === 0) return { score: 0.5, unknown: true };
  const titleText = `${candidate.title} ${channel}`;
  const credited = [...(candidate.artTrack?.artists ?? []), ...(candidate.credits ?? []).map((c) => c.name)];
  const evidence = [
    ...credited.flatMap(splitArtistCredit),
    ...(candidate.channel ? [candidate.channel.replace(/\s-\sTopic$/i, ''), channel] : []),
    ...parsed.featured,
    ...parsed.artistHints
      .filter((hint) => bestSimilarity([hint], [track.title]) < 0.8)
      .flatMap((hint) => splitArtistCredit(hint)),
  ].filter((value) => foldText(value) !== '');
  const matchOne = (artist: string): number => {
    if (foldText(artist) === '') return 0;
    if (containsWords(titleText, artist)) return 1;
    for (const name of credited) if (containsWords(name, artist)) return 1;
    const similarity = bestSimilarity([artist], evidence);
    return evidence.some((name) => suffixVariant(name, artist))
      ? Math.max(similarity, suffixVariantScore)
      : similarity;
  };
  // Other names of the credited artists (sort names, aliases, other scripts) are evidence for the lead
  // artist too: `米津玄師 - Topic` is `Kenshi Yonezu` when MusicBrainz files him under `Yonezu, Kenshi`.
  const aliases = (track.artistAliases ?? []).filter((alias) => foldText(alias) !== '');
  const [lead, ...others] = artists.map(matchOne);
  const main = Math.max(lead!, ...aliases.map(matchOne));
  let score = Math.max(main, ...others.map((value) => value * 0.85));
  if (others.length > 0) {
    const coverage = others.reduce((sum, value) => sum + (value >= 0.8 ? 1 : value), 0) / others.length;
    score =
      0.8 * score + 0.2 * Math.max(coverage, score >= 0.9 && candidate.artTrack === undefined ? 0.5 : 0);
  }
  const unknown =
    score < 0.6 &&
    !evidence.some(
      (value) => sharesScript(value, artists[0]!) || aliases.some((alias) => sharesScript(value, alias)),
    );
  if (unknown) {
    // Weak evidence: the same name once both sides are transliterated to ASCII (`ヨルシカ` → `yorushika`,
    // `Сплин` → `splin`). Kanji read as Chinese and unvocalized Hebrew rarely agree, so this never decides
    // more than a `strong` grade: aliases and the rest of the evidence do.
    const transliterated = transliteratedSimilarity([artists[0]!, ...aliases], evidence);
    if (transliterated >= transliterationAgreement) {
      return { score: transliteratedArtistScore, unknown: false };
    }
  }
  return { score: unknown ? 0.5 : score, unknown };
}

function classifyChannel(track: TrackMetadata, candidate: MatchCandidate, channel: string): ChannelKind {
  if (candidate.channelKind) return candidate.channelKind;
  if (candidate.resultType === 'art-track') return 'art-track';
  if (candidate.resultType === 'official-video') return 'artist';
  if (candidate.resultType !== 'user-upload' && (candidate.artTrack || isTopicChannel(candidate.channel))) {
    return 'art-track';
  }
  const raw = candidate.channel ?? '';
  const vevo = /vevo$/i.test(raw.trim());
  if (channel !== '') {
    for (const artist of track.artists) {
      if (textSimilarity(artist, channel) >= 0.85) return 'artist';
      if ((vevo || candidate.channelVerified) && containsWords(channel, artist)) return 'artist';
    }
  }
  return candidate.channelVerified ? 'verified' : 'other';
}

function isrcTied(track: TrackMetadata, candidate: MatchCandidate): boolean {
  if (candidate.foundByIsrc === true) return true;
  if (typeof candidate.foundByIsrc !== 'string' || candidate.foundByIsrc === '') return false;
  if (!track.isrc) return true;
  const compact = (value: string) => value.replace(/[\s-]/g, '').toUpperCase();
  return compact(track.isrc) === compact(candidate.foundByIsrc);
}

/**
 * Scores one video against a track. Deterministic and pure: the same inputs always give the same score,
 * parts and reasons.
 *
 * The score is `0.30·title + 0.25·artist + 0.25·duration + 0.12·channel (+ 0.08·album)` minus penalties
 * (version words, explicit/clean mismatch, remaster conflict, music-video intro) plus a views tie-break of
 * at most 0.02 (`maxViewsBonus`). Hard rejects: a live stream, a duration gap over
 * `durationRejectLimitMs` (7 % of the track, 8–60 s), title similarity under 0.6, artist similarity under 0.5.
 *
 * Grades: `verified` when the video is tied to the recording — found by the track's ISRC (title ≥ 0.8,
 * artist ≥ 0.7) or an art track whose catalogue title and artists match (≥ 0.9) — within
 * {@link verifiedDurationToleranceMs} and without penalties. Whether the ISRC itself is authoritative is
 * the race's call, made before it sets `foundByIsrc`. `exact`, `strong`, `fuzzy` by
 * {@link defaultMatchThresholds}; an artist that could not be compared (another script) caps at `fuzzy`,
 * unless the candidate is an art track whose title and duration agree and whose album agrees (or that the
 * track's ISRC search found): then it is `exact`.
 *
 * @example
 * const { grade, score, reasons } = scoreCandidate(
 *   { title: 'Hello', artists: ['Adele'], durationMs: 295_000, ids: {} },
 *   { id: 'YQHsXMglC9A', title: 'Adele - Hello (Official Music Video)', channel: 'AdeleVEVO', durationMs: 367_000 },
 * ); // grade 'rejected': the video is 72 s longer (intro)
 */
export function scoreCandidate(
  track: TrackMetadata,
  candidate: MatchCandidate,
  options: ScoreOptions = {},
): CandidateScore {
  const thresholds = { ...defaultMatchThresholds, ...options.thresholds };
  const reasons: string[] = [];
  const rejects: string[] = [];
  const parts: Record<string, number> = {};
  const parsed = parseTitle(candidate.title);
  const channel = candidate.channel ? cleanChannel(candidate.channel) : '';

  // Title: the catalogue title of an art track wins over the video title.
  const candidateTitles = candidate.artTrack ? parseTitle(candidate.artTrack.title).titles : parsed.titles;
  const titleVariants = [...candidateTitles];
  for (const artist of track.artists) {
    const foldedArtist = foldText(artist);
    if (foldedArtist === '') continue;
    for (const title of candidateTitles) {
      const stripped = ` ${title} `.replace(` ${foldedArtist} `, ' ').trim();
      if (stripped !== title && stripped !== '') titleVariants.push(stripped);
    }
  }
  // A non-Latin track title: also compare only the words written in its script(s), so romanizations and
  // translations next to the original title (`告白氣球 Love Confession`) do not dilute it.
  if (!scriptsOf(track.title).has('latin')) {
    for (const variant of [...titleVariants]) {
      const sameScript = variant
        .split(' ')
        .filter((word) => sharesScript(word, track.title))
        .join(' ');
      if (sameScript !== '' && sameScript !== variant) {
        titleVariants.push(sameScript);
        for (const artist of track.artists) {
          const stripped = ` ${sameScript} `.replace(` ${foldText(artist)} `, ' ').trim();
          if (stripped !== '' && stripped !== sameScript) titleVariants.push(stripped);
        }
      }
    }
  }
  let title = bestSimilarity(catalogueTitles(track.title), titleVariants);
  // A title written in another script on each side (a Hindi catalogue title in Devanagari, YouTube Music's
  // transliteration in Latin letters): weak evidence once both are transliterated, never more than `strong`.
  if (
    title < transliteratedTitleScore &&
    otherScripts(track.title, candidateTitles) &&
    transliteratedSimilarity(catalogueTitles(track.title), candidateTitles) >= transliteratedTitleAgreement
  ) {
    title = transliteratedTitleScore;
    reasons.push('title matches once transliterated (weak evidence)');
  }
  parts.title = round(title);

  const artistMatch = matchArtists(track, candidate, parsed, channel);
  parts.artist = round(artistMatch.score);

  const gapMs =
    track.durationMs && candidate.durationMs ? Math.abs(track.durationMs - candidate.durationMs) : undefined;
  const duration = durationCloseness(track.durationMs, candidate.durationMs);
  parts.duration = round(duration);

  const channelKind = classifyChannel(track, candidate, channel);
  parts.channel = channelKindScores[channelKind];

  let weighted =
    matchWeights.title * title +
    matchWeights.artist * artistMatch.score +
    matchWeights.duration * duration +
    matchWeights.channel * parts.channel;
  let weightSum = matchWeights.title + matchWeights.artist + matchWeights.duration + matchWeights.channel;
  const candidateAlbum = candidate.artTrack?.album ?? candidate.album?.title;
  if (track.album && candidateAlbum) {
    let album = Math.max(
      textSimilarity(track.album, candidateAlbum),
      bestSimilarity(catalogueTitles(track.album), parseTitle(candidateAlbum).titles),
    );
    if (
      album < transliteratedTitleScore &&
      otherScripts(track.album, [candidateAlbum]) &&
      transliteratedSimilarity(catalogueTitles(track.album), parseTitle(candidateAlbum).titles) >=
        transliteratedTitleAgreement
    ) {
      album = transliteratedTitleScore;
    }
    parts.album = round(album);
    weighted += matchWeights.album * album;
    weightSum += matchWeights.album;
  }
  let score = weighted / weightSum;

  // Penalties: version words in the candidate that the track does not have.
  const penalize = (name: string, amount: number, reason: string) => {
    parts[`penalty:${name}`] = round((parts[`penalty:${name}`] ?? 0) - amount);
    score -= amount;
    reasons.push(`${reason} (−${amount})`);
  };
  const trackParsed = parseTitle(track.title, { catalogue: true });
  const trackDescriptorTags = descriptorTags(trackParsed.descriptors);
  const trackText = foldText([track.title, track.album ?? '', ...track.artists].join(' '));
  const allowed = detectVersionTags(trackText);
  const trackTitleTags = detectVersionTags(foldText(track.title));
  for (const tag of trackDescriptorTags.keys()) {
    allowed.add(tag);
    trackTitleTags.add(tag);
  }
  const artTrackParsed = candidate.artTrack
    ? parseTitle(candidate.artTrack.title, { catalogue: true })
    : undefined;
  const candidateDescriptorTags = descriptorTags([
    ...parsed.descriptors,
    ...(artTrackParsed?.descriptors ?? []),
  ]);
  const candidateText = foldText(`${candidate.title} ${candidate.artTrack?.title ?? ''}`);
  const candidateTags = detectVersionTags(candidateText);
  for (const tag of candidateDescriptorTags.keys()) candidateTags.add(tag);
  if (candidateAlbum && detectVersionTags(foldText(candidateAlbum)).has('live')) candidateTags.add('live');
  if (candidate.channel) {
    for (const tag of detectVersionTags(foldText(candidate.channel))) {
      if (channelVersionTags.has(tag)) candidateTags.add(tag);
    }
  }
  let versionTotal = 0;
  for (const tag of candidateTags) {
    let reason = `"${tag}" version: the candidate says so, the track does not`;
    if (allowed.has(tag)) {
      const trackDescriptors = trackDescriptorTags.get(tag) ?? [];
      const candidateDescriptors = candidateDescriptorTags.get(tag) ?? [];
      if (!descriptorsConflict(trackDescriptors, candidateDescriptors)) continue;
      reason = `another "${tag}" version: "${candidateDescriptors[0]}", the track is "${trackDescriptors[0]}"`;
    }
    const penalty = tag === 'radio-edit' ? radioEditPenalty : versionPenalty;
    const applied = round(Math.min(penalty, Math.max(0, maxVersionPenalty - versionTotal)));
    versionTotal += penalty;
    if (applied > 0) penalize(tag, applied, reason);
  }
  for (const tag of trackTitleTags) {
    if (tag === 'radio-edit' || candidateTags.has(tag)) continue;
    penalize(
      `missing-${tag}`,
      missingVersionPenalty,
      `the track is a "${tag}" version, the candidate does not say so`,
    );
  }
  const trackNames = [...track.artists, ...trackParsed.featured];
  const creditedElsewhere = (name: string) =>
    trackNames.some((artist) => textSimilarity(artist, name) >= 0.8 || containsWords(artist, name)) ||
    containsWords(track.title, name);
  const guest = parsed.credits.find((names) => !names.every(creditedElsewhere));
  const artTrackArtists =
    candidate.artTrack?.artists ??
    (candidate.resultType === 'art-track' ? (candidate.credits ?? []).map((credit) => credit.name) : []);
  // A credit written in another script is the same artist when it transliterates to the name (`प्रीतम` /
  // `Pritam`), or, for the lead artist, when it is one of the track's aliases (`米津玄師` / `Kenshi Yonezu`).
  const aliasCredited = (track.artistAliases ?? []).some((alias) =>
    artTrackArtists.some((credit) => textSimilarity(credit, alias) >= 0.8),
  );
  const artTrackCredits = (name: string) =>
    artTrackArtists.some((credit) => textSimilarity(credit, name) >= 0.8 || containsWords(credit, name)) ||
    (otherScripts(name, artTrackArtists) &&
      (transliteratedSimilarity([name], artTrackArtists) >= transliterationAgreement ||
        (name === track.artists[0] && aliasCredited)));
  if (artTrackArtists.length > 0 && track.artists.length > 1 && !isrcTied(track, candidate)) {
    // A missing lead artist is another recording. A guest missing from the credits is the same recording when
    // the art track's title still names it (a service that credits the lead artist only, as YouTube Music
    // often does) or when it sits on the track's own release (same album, to the edition): else it is the
    // solo version ("Bad Blood" on "1989" against "Bad Blood" with Kendrick Lamar on "1989 (Deluxe)").
    const [lead, ...guests] = track.artists;
    const artTrackTitle = artTrackParsed ? [artTrackParsed.featured, ...artTrackParsed.credits].flat() : [];
    const sameRelease =
      track.album !== undefined &&
      candidateAlbum !== undefined &&
      textSimilarity(track.album, candidateAlbum) >= 0.9;
    const missing =
      lead !== undefined && !artTrackCredits(lead)
        ? lead
        : sameRelease
          ? undefined
          : [...guests, ...trackParsed.featured].find(
              (guest) =>
                !artTrackCredits(guest) &&
                !artTrackTitle.some(
                  (name) => textSimilarity(name, guest) >= 0.8 || containsWords(name, guest),
                ),
            );
    if (missing) penalize('missing-artist', missingArtistPenalty, `the art track does not credit ${missing}`);
  }
  if (guest)
    penalize('extra-guest', extraGuestPenalty, `credits a guest the track does not: ${guest.join(', ')}`);
  const explained = [track.title, track.album ?? '', ...track.artists];
  const unexplained = parsed.unexplained.find(
    (words) =>
      words !== '' &&
      !explained.some(
        (text) =>
          foldText(text) !== '' &&
          (containsWords(text, words) || containsWords(words, text) || textSimilarity(text, words) >= 0.8),
      ),
  );
  if (unexplained)
    penalize('unexplained', unexplainedBracketPenalty, `unexplained words in brackets: "${unexplained}"`);
  if (
    track.explicit !== undefined &&
    candidate.explicit !== undefined &&
    channelKind === 'art-track' &&
    candidate.explicit !== track.explicit
  ) {
    // The service's badge on a song: the clean (or the explicit) version of the release.
    penalize(
      'explicit-mismatch',
      explicitMismatchPenalty,
      track.explicit ? 'no explicit badge, the track is explicit' : 'explicit badge, the track is clean',
    );
  } else if (track.explicit !== undefined) {
    const labels = foldText(`${candidate.title} ${candidate.artTrack?.title ?? ''} ${candidateAlbum ?? ''}`);
    const clean = cleanPattern.test(labels);
    const explicit = explicitPattern.test(labels);
    if ((track.explicit && clean && !explicit) || (!track.explicit && explicit && !clean)) {
      penalize(
        'explicit-mismatch',
        explicitMismatchPenalty,
        track.explicit ? 'clean version, the track is explicit' : 'explicit version, the track is clean',
      );
    }
  }
  const trackRemaster = remasterYears(foldText(`${track.title} ${track.album ?? ''}`));
  const candidateRemaster = remasterYears(candidateText);
  if (trackRemaster.year && candidateRemaster.year && trackRemaster.year !== candidateRemaster.year) {
    penalize(
      'remaster-conflict',
      remasterConflictPenalty,
      `remastered in ${candidateRemaster.year}, the track in ${trackRemaster.year}`,
    );
  }
  if (
    gapMs !== undefined &&
    gapMs > 5000 &&
    channelKind !== 'art-track' &&
    musicVideoPattern.test(candidateText)
  ) {
    penalize(
      'music-video-gap',
      musicVideoGapPenalty,
      `music video ${seconds(gapMs)} off the track: intro, outro or skit`,
    );
  }
  const penalized = Object.keys(parts).some((key) => key.startsWith('penalty:'));

  const audience = candidate.viewCount ?? candidate.plays;
  if (audience && audience > 0) {
    const bonus = maxViewsBonus * Math.min(1, Math.log10(audience + 1) / 9);
    parts.views = round(bonus);
    score += bonus;
  }
  // Not clamped at 1: more agreeing evidence (album, views) ranks higher instead of tying at a cap.
  score = round(Math.max(0, score));

  // Hard rejects.
  if (candidate.live) rejects.push('a live stream or premiere, not a recording');
  if (candidate.resultType === 'episode') rejects.push('a podcast episode, not a recording');
  if (gapMs !== undefined && track.durationMs && gapMs > durationRejectLimitMs(track.durationMs)) {
    rejects.push(
      `duration differs by ${seconds(gapMs)} (limit ${seconds(durationRejectLimitMs(track.durationMs))})`,
    );
  }
  if (title < 0.6) rejects.push(`title does not match (${round(title)})`);
  if (!artistMatch.unknown && artistMatch.score < 0.5)
    rejects.push(`artist does not match (${round(artistMatch.score)})`);

  let grade: MatchGrade;
  const withinTolerance = gapMs !== undefined && gapMs <= verifiedDurationToleranceMs;
  if (rejects.length > 0) {
    grade = 'rejected';
  } else if (
    !penalized &&
    withinTolerance &&
    ((isrcTied(track, candidate) && title >= 0.8 && artistMatch.score >= 0.7 && !artistMatch.unknown) ||
      (candidate.artTrack !== undefined && title >= 0.9 && artistMatch.score >= 0.9 && !artistMatch.unknown))
  ) {
    grade = 'verified';
    reasons.unshift(
      isrcTied(track, candidate)
        ? `found by the track's ISRC, duration within ${seconds(gapMs)}`
        : `art track whose catalogue title and artists match, duration within ${seconds(gapMs)}`,
    );
  } else if (
    score >= thresholds.exact &&
    !penalized &&
    withinTolerance &&
    title >= 0.95 &&
    artistMatch.score >= 0.9 &&
    !artistMatch.unknown &&
    (channelKind === 'art-track' || channelKind === 'artist')
  ) {
    grade = 'exact';
  } else if (
    artistMatch.unknown &&
    !penalized &&
    withinTolerance &&
    title >= 0.95 &&
    channelKind === 'art-track' &&
    (isrcTied(track, candidate) || (parts.album ?? 0) >= 0.9)
  ) {
    // The artist is written in another script on one side, and everything else agrees: the art track's
    // catalogue title and album (or the ISRC search) and the duration tie it to the recording.
    grade = 'exact';
    reasons.unshift(
      `artist written in another script; title, ${isrcTied(track, candidate) ? "the track's ISRC" : 'album'} and duration agree`,
    );
  } else if (
    score >= thresholds.strong &&
    !artistMatch.unknown &&
    gapMs !== undefined &&
    gapMs <= strongDurationGapMs
  ) {
    grade = 'strong';
  } else if (score >= thresholds.fuzzy) {
    grade = 'fuzzy';
  } else {
    grade = 'rejected';
  }

  const summary = [
    `title ${round(title)}`,
    `artist ${artistMatch.unknown ? 'unknown (another script)' : round(artistMatch.score)}`,
    gapMs === undefined ? 'duration unknown' : `duration ${seconds(gapMs)} off`,
    `channel ${channelKind}`,
  ].join(', ');
  if (rejects.length > 0) {
    reasons.unshift(...rejects.map((reject) => `rejected: ${reject}`));
  } else if (grade === 'rejected') {
    reasons.unshift(`rejected: score ${score} under ${thresholds.fuzzy}`);
  }
  reasons.push(summary);

  const result: CandidateScore = { score, grade, parts, reasons, channelKind };
  if (gapMs !== undefined) result.durationGapMs = gapMs;
  return result;
}

/**
 * Scores every candidate and sorts them best first: by grade, then score, then the search order (stable).
 * The first entry is the pick when its grade is good enough for the caller (see {@link meetsGrade}).
 */
export function rankCandidates<Candidate extends MatchCandidate>(
  track: TrackMetadata,
  candidates: readonly Candidate[],
  options: ScoreOptions = {},
): Array<RankedCandidate<Candidate>> {
  return candidates
    .map((candidate, index) => ({
      index,
      ranked: { ...scoreCandidate(track, candidate, options), candidate },
    }))
    .sort(
      (a, b) =>
        gradeRank(b.ranked.grade) - gradeRank(a.ranked.grade) ||
        b.ranked.score - a.ranked.score ||
        Number(b.ranked.candidate.topResult ?? false) - Number(a.ranked.candidate.topResult ?? false) ||
        (a.ranked.candidate.rank ?? Number.POSITIVE_INFINITY) -
          (b.ranked.candidate.rank ?? Number.POSITIVE_INFINITY) ||
        a.index - b.index,
    )
    .map((entry) => entry.ranked);
}
