/** What an ID3v2.3 tag holds here: the text frames players show, and one front cover. */
export interface Id3TagInput {
  title?: string;
  /** Joined with `/`, ID3v2.3's separator for several artists. */
  artists?: string[];
  album?: string;
  /** `YYYY` (or a longer ISO date, of which the year is written). */
  year?: string;
  cover?: { data: Uint8Array; mimeType: string };
}

/**
 * An ID3v2.3 tag (text as UTF-16 with BOM, as v2.3 requires for non-Latin-1 text; cover art as an APIC
 * "front cover" frame). Written by NexStream rather than ffmpeg because ffmpeg's mp3 muxer patches the tag
 * size by seeking back, which a pipe cannot do: its tag comes out with size 0 and players skip it.
 */
export function id3v2Tag(input: Id3TagInput): Uint8Array {
  const frames: Uint8Array[] = [];
  const text = (id: string, value: string | undefined): void => {
    if (value) frames.push(frame(id, concat([Uint8Array.of(1), utf16WithBom(value)])));
  };
  text('TIT2', input.title);
  text('TPE1', input.artists?.filter(Boolean).join('/'));
  text('TALB', input.album);
  text('TYER', /^\d{4}/.exec(input.year ?? '')?.[0]);
  if (input.cover) {
    const mime = new TextEncoder().encode(input.cover.mimeType);
    // encoding 0 (Latin-1), MIME, NUL, picture type 3 (front cover), empty description, NUL, data.
    frames.push(frame('APIC', concat([Uint8Array.of(0), mime, Uint8Array.of(0, 3, 0), input.cover.data])));
  }
  const body = concat(frames);
  const header = Uint8Array.of(0x49, 0x44, 0x33, 3, 0, 0, ...synchsafe(body.byteLength));
  return concat([header, body]);
}

function frame(id: string, content: Uint8Array): Uint8Array {
  const size = content.byteLength;
  const header = new Uint8Array(10);
  header.set(new TextEncoder().encode(id), 0);
  new DataView(header.buffer).setUint32(4, size);
  return concat([header, content]);
}

function utf16WithBom(value: string): Uint8Array {
  const bytes = new Uint8Array(2 + value.length * 2);
  bytes[0] = 0xff;
  bytes[1] = 0xfe;
  for (let index = 0; index < value.length; index += 1) {
    const unit = value.charCodeAt(index);
    bytes[2 + index * 2] = unit & 0xff;
    bytes[3 + index * 2] = unit >> 8;
  }
  return bytes;
}

function synchsafe(size: number): number[] {
  return [(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
