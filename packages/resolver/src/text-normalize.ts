/**
 * Text folding and string similarity for matching catalogue metadata against video titles. Everything here
 * is pure and works on Unicode code points, so Japanese, Korean, Cyrillic, Arabic and Devanagari titles
 * compare as well as Latin ones (no transliteration: a title matches in the script it is written in).
 */

/** Combining diacritical marks (U+0300–U+036F): folded away for Latin, Greek and Cyrillic letters only. */
const diacriticMarks = /[\u0300-\u036f]/g;
/** Apostrophes and dots join their neighbours (`don't` → `dont`, `B.o.B` → `bob`, `ft.` → `ft`). */
const joiningPunctuation = /['’‘`´.]/g;
/** Anything that is not a letter, a combining mark (Devanagari vowel signs, kana voicing) or a digit. */
const separators = /[^\p{L}\p{M}\p{N}]+/gu;

/**
 * Folds text for comparison: NFKC (full-width and compatibility forms), lower case (`ß` → `ss`, final
 * sigma), Latin/Greek/Cyrillic diacritics removed (`é` → `e`, `ё` → `е`), `&` → `and`, punctuation to single
 * spaces. Marks of other scripts (Devanagari matras, Japanese dakuten) are kept because they change the word.
 *
 * @example foldText('Beyoncé & JAY-Z (Live)') // 'beyonce and jay z live'
 */
export function foldText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/ς/g, 'σ')
    .normalize('NFD')
    .replace(diacriticMarks, '')
    .normalize('NFC')
    .replace(/&/g, ' and ')
    .replace(joiningPunctuation, '')
    .replace(separators, ' ')
    .trim();
}

/** The folded words of a text (see {@link foldText}). */
export function tokenize(text: string): string[] {
  const folded = foldText(text);
  return folded === '' ? [] : folded.split(' ');
}

/** Folded text without spaces: `Taylor Swift` and `TaylorSwiftVEVO` minus `vevo` compare equal. */
export function compactText(text: string): string {
  return foldText(text).replace(/ /g, '');
}

/** Length of the longest common subsequence of two code-point arrays (O(n·m), inputs are short). */
function longestCommonSubsequence(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let previous = new Array<number>(b.length + 1).fill(0);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

/**
 * The normalized indel similarity of two strings, 0–1: `2·LCS / (|a| + |b|)` over code points, the
 * measure rapidfuzz calls `ratio`. Compares the strings as given (fold them first).
 */
export function indelRatio(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  if (left.length === 0 && right.length === 0) return 1;
  if (left.length === 0 || right.length === 0) return 0;
  if (a === b) return 1;
  return (2 * longestCommonSubsequence(left, right)) / (left.length + right.length);
}

/** {@link indelRatio} of the folded words sorted alphabetically, so word order does not matter. */
export function tokenSortRatio(a: string, b: string): number {
  const sorted = (text: string) => tokenize(text).sort().join(' ');
  return indelRatio(sorted(a), sorted(b));
}

/**
 * How alike two names or titles are, 0–1: the best of the indel ratio of the folded texts, of their sorted
 * words, and of their space-free forms (CJK titles and run-together channel names have no spaces).
 * Unlike a token-set ratio, extra words cost: `Hello` against `Hello Goodbye` is 0.56, not 1.
 */
export function textSimilarity(a: string, b: string): number {
  const foldedA = foldText(a);
  const foldedB = foldText(b);
  if (foldedA === '' || foldedB === '') return 0;
  if (foldedA === foldedB) return 1;
  return Math.max(
    indelRatio(foldedA, foldedB),
    tokenSortRatio(foldedA, foldedB),
    indelRatio(foldedA.replace(/ /g, ''), foldedB.replace(/ /g, '')),
  );
}

/**
 * Whether `needle`'s words appear in `haystack` as a whole-word run (`adele` in `adele hello`, not
 * `del` in `adele`). A run-together name also matches at the start of a word (`taylorswift` in
 * `taylorswiftvevo`, not `adele` in `madeleine`), and space-free scripts (CJK) match anywhere, when the
 * needle has at least {@link minimumCompactNeedle} code points.
 */
export function containsWords(haystack: string, needle: string): boolean {
  const foldedNeedle = foldText(needle);
  if (foldedNeedle === '') return false;
  const foldedHaystack = foldText(haystack);
  if (` ${foldedHaystack} `.includes(` ${foldedNeedle} `)) return true;
  const compactNeedle = foldedNeedle.replace(/ /g, '');
  if (Array.from(compactNeedle).length < minimumCompactNeedle(compactNeedle)) return false;
  if (spaceFreeScript.test(compactNeedle)) return foldedHaystack.replace(/ /g, '').includes(compactNeedle);
  return foldedHaystack.split(' ').some((word) => word.startsWith(compactNeedle));
}

const spaceFreeScript =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;

/**
 * The shortest needle {@link containsWords} matches inside run-together text: 2 code points for CJK, Hangul
 * and Thai (a two-character name is specific), 5 for other scripts.
 */
export function minimumCompactNeedle(compact: string): number {
  return spaceFreeScript.test(compact) ? 2 : 5;
}

/** Writing systems {@link scriptsOf} tells apart. */
export type WritingScript =
  | 'latin'
  | 'cjk'
  | 'hangul'
  | 'cyrillic'
  | 'greek'
  | 'arabic'
  | 'hebrew'
  | 'devanagari'
  | 'thai'
  | 'other';

const scriptPatterns: ReadonlyArray<readonly [WritingScript, RegExp]> = [
  ['latin', /\p{Script=Latin}/u],
  ['cjk', /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['hangul', /\p{Script=Hangul}/u],
  ['cyrillic', /\p{Script=Cyrillic}/u],
  ['greek', /\p{Script=Greek}/u],
  ['arabic', /\p{Script=Arabic}/u],
  ['hebrew', /\p{Script=Hebrew}/u],
  ['devanagari', /\p{Script=Devanagari}/u],
  ['thai', /\p{Script=Thai}/u],
];

/**
 * The writing systems whose letters occur in a text. Two names written in disjoint scripts (`Kenshi
 * Yonezu` and `米津玄師`) cannot be compared without transliteration, which the scorer treats as
 * "unknown" rather than "different".
 */
export function scriptsOf(text: string): Set<WritingScript> {
  const scripts = new Set<WritingScript>();
  for (const [script, pattern] of scriptPatterns) if (pattern.test(text)) scripts.add(script);
  if (scripts.size === 0 && /\p{L}/u.test(text)) scripts.add('other');
  return scripts;
}

/** Whether two texts share a writing system (see {@link scriptsOf}). */
export function sharesScript(a: string, b: string): boolean {
  const left = scriptsOf(a);
  for (const script of scriptsOf(b)) if (left.has(script)) return true;
  return false;
}

/**
 * Splits an artist credit into names: `A, B & C`, `A x B`, `A feat. B`, `A with B`, `A vs. B`, `A / B`.
 * The whole credit is kept as well, so `Earth, Wind & Fire` and `Simon & Garfunkel` still match whole.
 */
export function splitArtistCredit(credit: string): string[] {
  const whole = credit.trim();
  if (whole === '') return [];
  const parts = whole
    .split(/\s*(?:,|;|\/|&|\+|\band\b|\bx\b|×|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|\bvs\.?)\s*/i)
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return [...new Set([whole, ...parts])];
}
