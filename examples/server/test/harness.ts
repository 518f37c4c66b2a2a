import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVerifiedMatch } from '@nexstream/registry/verification';
import { bundleForBrowser } from '@nexstream/testkit';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/server.js';

/** The repository root (artifacts go to `<root>/artifacts/`, gitignored). */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Where end-to-end screenshots and downloaded files are saved for people to look at. */
export async function artifactsDirectory(name: string): Promise<string> {
  const directory = join(repositoryRoot, 'artifacts', name);
  await mkdir(directory, { recursive: true });
  return directory;
}

/** A scratch directory removed by the returned function. */
export async function scratch(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nexstream-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Log lines the server wrote, parsed (tests assert on them). */
export interface CapturedLogs {
  lines: Array<Record<string, unknown>>;
  write(line: string): void;
}

export function captureLogs(): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) };
}

/**
 * Starts the server in-process on a free port, on a fresh data directory. `env` adds configuration
 * (fixtures mode is on unless `NEXSTREAM_FIXTURES` says otherwise).
 */
export async function startTestServer(
  env: Record<string, string> = {},
): Promise<{ server: RunningServer; logs: CapturedLogs; close: () => Promise<void> }> {
  const data = await scratch('server-data');
  const logs = captureLogs();
  const config = loadConfig({
    PATH: process.env.PATH,
    NEXSTREAM_FIXTURES: '1',
    PORT: '0',
    NEXSTREAM_DATA_DIR: data.path,
    NEXSTREAM_HEARTBEAT_MS: '1000',
    NEXSTREAM_SHUTDOWN_MS: '1000',
    ...env,
  });
  const server = await startServer({ config, logger: createLogger('debug', logs.write) });
  return {
    server,
    logs,
    async close() {
      await server.close();
      await data.remove();
    },
  };
}

/**
 * Bundles the edge muxer's Worker and Service Worker from their TypeScript sources (as its browser build
 * does), so the end-to-end tests never run a stale `dist/`.
 */
export async function bundleEdgeMuxer(outDir: string): Promise<void> {
  const source = fileURLToPath(new URL('../../../packages/edge-muxer/src/', import.meta.url));
  await bundleForBrowser(
    { worker: join(source, 'worker/mux-worker.ts'), sw: join(source, 'sw/download-sw.ts') },
    outDir,
  );
}

/** Builds the web app with its own Vite config into `outDir`. */
export async function buildWebApp(outDir: string): Promise<void> {
  const { build: viteBuild } = await import('vite');
  const root = fileURLToPath(new URL('../../web/', import.meta.url));
  await viteBuild({
    root,
    configFile: join(root, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
}

/** Polls until `check` is true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A verified mapping of the fixture track, stored as the resolver's verification step would. */
export function fixtureMatch(options: {
  isrc: string;
  videoId: string;
  title: string;
  deezer: string;
  spotify?: string;
  expiresAt: number;
}) {
  return createVerifiedMatch({
    track: {
      isrc: options.isrc,
      title: options.title,
      artists: ['Daft Punk'],
      album: 'Discovery',
      durationMs: 224_000,
      ids: { deezer: options.deezer, ...(options.spotify ? { spotify: options.spotify } : {}) },
    },
    media: {
      id: `youtube:${options.videoId}`,
      platform: 'youtube',
      pageUrl: `https://www.youtube.com/watch?v=${options.videoId}`,
      title: `Daft Punk - ${options.title} (Official Audio)`,
      durationMs: 224_500,
      formats: [
        {
          id: '140',
          container: 'm4a',
          audioCodec: 'mp4a.40.2',
          url: 'https://rr1---sn.example.googlevideo.com/videoplayback?itag=140',
          expiresAt: options.expiresAt,
        },
      ],
      expiresAt: options.expiresAt,
    },
    verification: { method: 'isrc-search', isrcSource: 'deezer' },
  });
}

/**
 * The product's browser files for an end-to-end test: the web app built and the edge muxer bundled into a
 * scratch folder (`<prefix>` names it and the artifacts folder), with the server settings that serve them.
 */
export async function productFiles(prefix: string): Promise<{
  work: Awaited<ReturnType<typeof scratch>>;
  artifacts: string;
  /** `NEXSTREAM_WEB_DIR` and `NEXSTREAM_EDGE_MUXER_DIR` for {@link startTestServer}. */
  env: Record<string, string>;
}> {
  const work = await scratch(prefix);
  const artifacts = await artifactsDirectory(prefix);
  const env = {
    NEXSTREAM_WEB_DIR: join(work.path, 'web'),
    NEXSTREAM_EDGE_MUXER_DIR: join(work.path, 'edge-muxer'),
  };
  await Promise.all([buildWebApp(env.NEXSTREAM_WEB_DIR), bundleEdgeMuxer(env.NEXSTREAM_EDGE_MUXER_DIR)]);
  return { work, artifacts, env };
}

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** What axe reports of a violation, enough to find and fix it. */
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string; html: string }>;
}

/** Runs axe-core in the page; returns its serious and critical violations as readable lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<unknown> } })
      .axe;
    const results = (await axe.run(document, { resultTypes: ['violations'] })) as {
      violations: AxeViolation[];
    };
    return results.violations;
  });
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) =>
      violation.nodes.map(
        (node) =>
          `${violation.impact} ${violation.id} (${violation.help}) at ${JSON.stringify(node.target)}: ${
            node.failureSummary?.replace(/\s+/g, ' ') ?? ''
          } — ${node.html.slice(0, 160)}`,
      ),
    );
}
