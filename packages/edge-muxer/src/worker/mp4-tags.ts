import type { CoverImage, TextTags } from '../metadata.js';

/**
 * iTunes-style tags for MP4/M4A output (decision 0115): `moov/udta/meta(hdlr mdir)/ilst` with `©nam`,
 * `©ART`, `©alb`, `©day` and `covr` items — what ffmpeg's mov muxer writes for `-metadata` and what
 * players, file managers and ffprobe (`format_tags`, the cover as an `attached_pic` stream) read. Both MP4
 * writers get the same tags the same way: the output's init segment (`ftyp` + `moov`, first in a
 * fragmented file) is rewritten once on its way out. Fragments address their data relative to their own
 * `moof` (`default-base-is-moof`), so a larger `moov` moves nothing else. @internal
 */

const encoder = new TextEncoder();

function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const size = 8 + parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, size);
  // `©` is U+00A9: one byte, 0xA9, as the iTunes item names spell it.
  for (let index = 0; index < 4; index++) out[4 + index] = type.charCodeAt(index) & 0xff;
  let offset = 8;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (const [index, value] of values.entries()) view.setUint32(index * 4, value >>> 0);
  return out;
}

/** Well-known `data` types of iTunes items: UTF-8 text, JPEG, PNG. */
const dataTypes = { utf8: 1, jpeg: 13, png: 14 } as const;

/** An `ilst` item: the item box holding one `data` box (type, locale 0, value). */
function item(type: string, dataType: number, value: Uint8Array): Uint8Array {
  return box(type, box('data', u32s(dataType, 0), value));
}

/**
 * The `ilst` items for the tags and cover (empty when there is nothing to write).
 * @internal
 */
export function ilstItems(tags: TextTags, cover: CoverImage | undefined): Uint8Array[] {
  const items: Uint8Array[] = [];
  const text = (type: string, value: string | undefined) => {
    if (value) items.push(item(type, dataTypes.utf8, encoder.encode(value)));
  };
  text('\u00a9nam', tags.title);
  text('\u00a9ART', tags.artist);
  text('\u00a9alb', tags.album);
  text('\u00a9day', tags.date);
  if (cover !== undefined) {
    items.push(item('covr', cover.mimeType === 'image/png' ? dataTypes.png : dataTypes.jpeg, cover.bytes));
  }
  return items;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** A `meta` box (full box) with the `mdir` handler iTunes readers look for, holding an `ilst`. */
function metaBox(ilst: Uint8Array): Uint8Array {
  const hdlr = box('hdlr', u32s(0, 0), encoder.encode('mdirappl'), u32s(0, 0), Uint8Array.of(0));
  return box('meta', u32s(0), hdlr, ilst);
}

interface Span {
  type: string;
  /** Offset of the box header. */
  at: number;
  /** Offset of the first child (after the header and, for `meta`, its version and flags). */
  body: number;
  end: number;
}

function childrenOf(data: Uint8Array, start: number, end: number): Span[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const spans: Span[] = [];
  let at = start;
  while (at + 8 <= end) {
    const size = view.getUint32(at);
    // 64-bit and to-the-end sizes do not occur inside a moov written here; stop rather than guess.
    if (size < 8 || at + size > end) break;
    const type = String.fromCharCode(data[at + 4]!, data[at + 5]!, data[at + 6]!, data[at + 7]!);
    spans.push({ type, at, body: at + 8 + (type === 'meta' ? 4 : 0), end: at + size });
    at += size;
  }
  return spans;
}

/**
 * Adds the items to a `moov` box (the whole box, header included): into its `udta/meta/ilst` when the
 * muxer wrote one (libavformat writes `©too`, its encoder name), else as a new `ilst`, `meta` or `udta`
 * at the end of the innermost box present. Every enclosing box's size grows by what was inserted.
 * Returns `undefined` for a `moov` with a 64-bit size (never written by the two writers).
 * @internal
 */
export function addItemsToMoov(moov: Uint8Array, items: Uint8Array[]): Uint8Array | undefined {
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  if (view.getUint32(0) !== moov.byteLength) return undefined;
  const ilstBody = concat(items);
  const enclosing: Span[] = [{ type: 'moov', at: 0, body: 8, end: moov.byteLength }];
  let insert: Uint8Array = box('udta', metaBox(box('ilst', ilstBody)));
  const udta = childrenOf(moov, 8, moov.byteLength).find((span) => span.type === 'udta');
  if (udta !== undefined) {
    enclosing.push(udta);
    insert = metaBox(box('ilst', ilstBody));
    const meta = childrenOf(moov, udta.body, udta.end).find((span) => span.type === 'meta');
    if (meta !== undefined) {
      enclosing.push(meta);
      insert = box('ilst', ilstBody);
      const ilst = childrenOf(moov, meta.body, meta.end).find((span) => span.type === 'ilst');
      if (ilst !== undefined) {
        enclosing.push(ilst);
        insert = ilstBody;
      }
    }
  }
  const innermost = enclosing.at(-1)!;
  const out = new Uint8Array(moov.byteLength + insert.byteLength);
  out.set(moov.subarray(0, innermost.end), 0);
  out.set(insert, innermost.end);
  out.set(moov.subarray(innermost.end), innermost.end + insert.byteLength);
  const outView = new DataView(out.buffer);
  for (const span of enclosing) outView.setUint32(span.at, view.getUint32(span.at) + insert.byteLength);
  return out;
}

/** Top-level boxes that may come before the `moov` of a fragmented file. */
const beforeMoov = new Set(['ftyp', 'free', 'skip', 'wide', 'uuid']);
/** The most output held back while looking for the `moov` (it is in the first write of both writers). */
const maximumHeldBytes = 64 * 1024 * 1024;

/**
 * Wraps an output writer so that the file's `moov` gets the tag items: output is held back until the
 * `moov` is complete (the first chunk, in practice), rewritten once, then everything passes straight
 * through. When no `moov` turns up where a fragmented file has it, the output passes unchanged and
 * `onSkipped` says why.
 * @internal
 */
export function createMp4Tagger(
  items: Uint8Array[],
  write: (chunk: Uint8Array) => Promise<void>,
  onSkipped: (reason: string) => void,
): { write(chunk: Uint8Array): Promise<void>; flush(): Promise<void> } {
  let done = items.length === 0;
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  const release = async (chunks: Uint8Array[]) => {
    for (const chunk of chunks) if (chunk.byteLength > 0) await write(chunk);
  };
  const giveUp = async (reason: string) => {
    done = true;
    onSkipped(reason);
    const chunks = held;
    held = [];
    heldBytes = 0;
    await release(chunks);
  };
  return {
    async write(chunk) {
      if (done) {
        await write(chunk);
        return;
      }
      held.push(chunk);
      heldBytes += chunk.byteLength;
      const data = held.length === 1 ? chunk : concat(held);
      if (held.length > 1) held = [data];
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let at = 0;
      while (at + 8 <= data.byteLength) {
        const size = view.getUint32(at);
        const type = String.fromCharCode(data[at + 4]!, data[at + 5]!, data[at + 6]!, data[at + 7]!);
        if (type === 'moov') {
          if (size < 8) return giveUp('the moov box has an unusual size field');
          if (at + size > data.byteLength) break;
          const tagged = addItemsToMoov(data.slice(at, at + size), items);
          if (tagged === undefined) return giveUp('the moov box has a 64-bit size');
          done = true;
          held = [];
          heldBytes = 0;
          // Each chunk is transferred to the page with its buffer: the parts around the moov are copies.
          await release([data.slice(0, at), tagged, data.slice(at + size)]);
          return;
        }
        if (!beforeMoov.has(type) || size < 8) return giveUp(`the file has a ${type} box before its moov`);
        at += size;
      }
      if (heldBytes > maximumHeldBytes) await giveUp('no moov box in the first 64 MiB');
    },
    async flush() {
      if (!done) await giveUp('the output ended before its moov box');
    },
  };
}
