import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** A local MPEG-TS file ("media the server must never broadcast") and playlists that point at it. */
export interface HostilePlaylists {
  /** The local media the playlists point at (MPEG-TS, H.264 + AAC). */
  secretPath: string;
  /** A text HLS media playlist, named like a video, whose one entry is `file://<secretPath>`. */
  hlsPath: string;
  /** The same as an ffconcat script. */
  concatPath: string;
}

/**
 * Writes the issue-13 attack files into `directory`: `secret.ts` (remuxed from `clip`), `x.mp4` (an HLS
 * playlist with a `file://` entry, which ffprobe reports as container `hls`) and `concat.mp4`.
 */
export async function writeHostilePlaylists(directory: string, clip: string): Promise<HostilePlaylists> {
  const secretPath = join(directory, 'secret.ts');
  await execa('ffmpeg', ['-v', 'error', '-y', '-i', clip, '-c', 'copy', '-f', 'mpegts', secretPath]);
  const hlsPath = join(directory, 'x.mp4');
  await writeFile(
    hlsPath,
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXTINF:4.0,\nfile://${secretPath}\n#EXT-X-ENDLIST\n`,
  );
  const concatPath = join(directory, 'concat.mp4');
  await writeFile(concatPath, `ffconcat version 1.0\nfile '${secretPath}'\n`);
  return { secretPath, hlsPath, concatPath };
}

/** Drops `-protocol_whitelist <x>` and `-format_whitelist <x>` from ffmpeg arguments (the attack's control). */
export function withoutWhitelists(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    if (args[index] === '-protocol_whitelist' || args[index] === '-format_whitelist') index += 1;
    else out.push(args[index] as string);
  }
  return out;
}
