import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, realpath } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '../errors.js';

/** The external programs NexStream runs. */
export type ProgramName = 'ffmpeg' | 'ffprobe' | 'yt-dlp';

/** The env var that names each program's path, checked after the explicit option and before PATH. */
export const programEnvVars: Readonly<Record<ProgramName, string>> = {
  ffmpeg: 'NEXSTREAM_FFMPEG',
  ffprobe: 'NEXSTREAM_FFPROBE',
  'yt-dlp': 'NEXSTREAM_YTDLP',
};

const minimumMajor: Readonly<Record<ProgramName, number>> = { ffmpeg: 5, ffprobe: 5, 'yt-dlp': 2023 };

const installHint: Readonly<Record<ProgramName, string>> = {
  ffmpeg: 'install ffmpeg >= 5 (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)',
  ffprobe: 'install ffmpeg >= 5, which ships ffprobe (Debian/Ubuntu: apt-get install ffmpeg)',
  'yt-dlp': 'install yt-dlp (Debian/Ubuntu: apt-get install yt-dlp; or pipx install yt-dlp)',
};

/** Where to look for a program. */
export interface LocateProgramOptions {
  /** An explicit path; wins over the env var and PATH. */
  path?: string;
  /** The environment to read the env var and PATH from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
}

/** A program found and checked. */
export interface LocatedProgram {
  name: ProgramName;
  /** Absolute path (or the explicit path as given). */
  path: string;
  /** The version string the program printed, e.g. `5.1.9-0+deb12u1` or `2023.03.04`. */
  version: string;
  /** Where the path came from. */
  source: 'option' | 'env' | 'path';
  /** yt-dlp only: the release date its version names (`2023.03.04` → `2023-03-04`). */
  releaseDate?: string;
  /** yt-dlp only: how it was installed, which decides how to update it. */
  installedBy?: ProgramInstall;
}

/**
 * How a program was installed: `pipx`, `pip` (a Python entry point in some environment), `standalone` (the
 * release binary or zipapp, which updates itself with `-U`), `distribution` (an OS package such as Debian's),
 * or `unknown`.
 */
export type ProgramInstall = 'pipx' | 'pip' | 'standalone' | 'distribution' | 'unknown';

/** Default {@link ProgramFreshness} limit: yt-dlp releases older than this are likely broken by YouTube. */
export const ytDlpMaxAgeDays = 90;

/** Whether a located yt-dlp is recent enough, and how to update it. */
export interface ProgramFreshness {
  /** Days since the release, or `undefined` when the version names no date. */
  ageDays?: number;
  /** Older than the limit: YouTube changes often break yt-dlp releases within weeks. */
  stale: boolean;
  /** The update command for the way it was installed. */
  updateCommand: string;
  /** One sentence for logs and health checks (empty when fresh). */
  warning: string;
}

const updateCommands: Readonly<Record<ProgramInstall, string>> = {
  pipx: 'pipx upgrade yt-dlp',
  pip: 'python3 -m pip install --upgrade yt-dlp',
  standalone: 'yt-dlp -U',
  distribution:
    'apt-get install --only-upgrade yt-dlp (distribution packages lag behind: pipx install yt-dlp, then set NEXSTREAM_YTDLP)',
  unknown: 'yt-dlp -U, or pipx upgrade yt-dlp',
};

/**
 * How old a located yt-dlp is, against `maxAgeDays` (default {@link ytDlpMaxAgeDays}), with the update
 * command for its install. ffmpeg and ffprobe are never stale here (their versions name no date).
 */
export function programFreshness(
  program: LocatedProgram,
  options: { now?: number; maxAgeDays?: number } = {},
): ProgramFreshness {
  const updateCommand = updateCommands[program.installedBy ?? 'unknown'];
  if (!program.releaseDate) return { stale: false, updateCommand, warning: '' };
  const ageDays = Math.floor(
    ((options.now ?? Date.now()) - Date.parse(`${program.releaseDate}T00:00:00Z`)) / 86_400_000,
  );
  const maxAgeDays = options.maxAgeDays ?? ytDlpMaxAgeDays;
  const stale = ageDays > maxAgeDays;
  return {
    ageDays,
    stale,
    updateCommand,
    warning: stale
      ? `${program.name} ${program.version} is ${ageDays} days old (more than ${maxAgeDays}); YouTube breaks old releases: update it with ${updateCommand}`
      : '',
  };
}

const cache = new Map<string, Promise<LocatedProgram>>();

/**
 * Finds `name` from the explicit `path` option, then its env var ({@link programEnvVars}), then PATH, runs it
 * once to read its version, and checks it is new enough (ffmpeg and ffprobe >= 5). Results are cached per
 * resolved path.
 *
 * @throws NexStreamError `NXS_DEPENDENCY_MISSING` when it is missing, not executable or too old, with how to
 *   install it in the message.
 */
export function locateProgram(
  name: ProgramName,
  options: LocateProgramOptions = {},
): Promise<LocatedProgram> {
  const env = options.env ?? process.env;
  const envVar = programEnvVars[name];
  const explicit = options.path ?? env[envVar];
  const source: LocatedProgram['source'] = options.path ? 'option' : env[envVar] ? 'env' : 'path';
  const key = `${name}\0${source}\0${explicit ?? ''}\0${explicit ? '' : (env.PATH ?? '')}`;
  let found = cache.get(key);
  if (!found) {
    found = findAndCheck(name, explicit, source, env);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function findAndCheck(
  name: ProgramName,
  explicit: string | undefined,
  source: LocatedProgram['source'],
  env: Record<string, string | undefined>,
): Promise<LocatedProgram> {
  const path = explicit ?? (await searchPath(name, env.PATH ?? ''));
  if (!path) {
    throw missing(name, `${name} was not found on PATH and ${programEnvVars[name]} is not set`);
  }
  if (isAbsolute(path) && !(await isExecutable(path))) {
    throw missing(
      name,
      `${name} at ${path} (from ${describeSource(name, source)}) does not exist or is not executable`,
    );
  }
  const output = await readVersion(name, path).catch((cause: unknown) => {
    throw missing(name, `${name} at ${path} (from ${describeSource(name, source)}) could not be run`, cause);
  });
  const version = parseVersion(name, output);
  if (!version) {
    throw missing(name, `${name} at ${path} printed no version we recognize`);
  }
  const major = Number.parseInt(version, 10);
  // Git builds of ffmpeg print `N-12345-g…`: no number to compare, assume they are recent.
  if (!Number.isNaN(major) && major < minimumMajor[name]) {
    throw missing(name, `${name} ${version} at ${path} is too old (need >= ${minimumMajor[name]})`);
  }
  const located: LocatedProgram = { name, path, version, source };
  if (name === 'yt-dlp') {
    const date = /^(\d{4})\.(\d{2})\.(\d{2})/.exec(version);
    if (date) located.releaseDate = `${date[1]}-${date[2]}-${date[3]}`;
    located.installedBy = await installOf(path);
  }
  return located;
}

/** How the yt-dlp at `path` was installed, from where it lives and what the file is. */
async function installOf(path: string): Promise<ProgramInstall> {
  const real = await realpath(path).catch(() => path);
  if (/[/\\]pipx[/\\]venvs[/\\]/.test(real)) return 'pipx';
  let head = '';
  try {
    const file = await open(real, 'r');
    try {
      const buffer = Buffer.alloc(256);
      const { bytesRead } = await file.read(buffer, 0, 256, 0);
      head = buffer.subarray(0, bytesRead).toString('latin1');
    } finally {
      await file.close();
    }
  } catch {
    return 'unknown';
  }
  // The release zipapp starts with a shebang line followed by the zip; the release binaries are ELF/Mach-O/PE.
  if (head.startsWith('\x7fELF') || head.startsWith('MZ') || head.includes('PK\x03\x04')) return 'standalone';
  if (head.startsWith('#!') && /python/.test(head.split('\n')[0] ?? '')) {
    return /^\/usr\/bin\//.test(real) && (await exists('/usr/lib/python3/dist-packages/yt_dlp'))
      ? 'distribution'
      : 'pip';
  }
  return 'unknown';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function describeSource(name: ProgramName, source: LocatedProgram['source']): string {
  return source === 'option' ? 'the path option' : source === 'env' ? programEnvVars[name] : 'PATH';
}

function missing(name: ProgramName, what: string, cause?: unknown): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.DependencyMissing,
    `${what}: ${installHint[name]}, or set ${programEnvVars[name]} to its path`,
    { cause, retryable: false },
  );
}

async function searchPath(name: string, pathList: string): Promise<string | undefined> {
  for (const directory of pathList.split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function readVersion(name: ProgramName, path: string): Promise<string> {
  const args = name === 'yt-dlp' ? ['--version'] : ['-hide_banner', '-version'];
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: 15_000, maxBuffer: 1 << 20, windowsHide: true }, (error, stdout) => {
      if (error) reject(error);
      else resolve(String(stdout));
    });
  });
}

/** Extracts the version from `ffmpeg -version`, `ffprobe -version` or `yt-dlp --version` output. */
export function parseVersion(name: ProgramName, output: string): string | undefined {
  const firstLine = output.trim().split('\n')[0] ?? '';
  if (name === 'yt-dlp') return /^\d{4}\.\d{2}\.\d{2}(?:\.\d+)?/.exec(firstLine)?.[0];
  return /\bversion\s+n?(\S+)/.exec(firstLine)?.[1];
}
