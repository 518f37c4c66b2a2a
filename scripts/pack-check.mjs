// Proves a package's exports map the way a user meets it: `npm pack` the package, install the tarball into
// a scratch ESM project (package.json "type": "module", tsconfig NodeNext strict), type-check a file that
// imports it by name with the workspace's tsc, and run an ESM file that imports it by name with node.
//
//   node scripts/pack-check.mjs            # checks @nexstream/core
//
// packages/core/test/pack.test.ts runs the same check. Works offline: the tarball's dependencies come from
// npm's cache (--offline, then --prefer-offline); as a last resort the tarball is unpacked by hand and the
// dependencies are linked from the workspace's node_modules.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Env for nested npm calls: without the workspace settings npm puts into scripts it runs. */
function childEnv() {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' };
  for (const key of Object.keys(env)) {
    if (
      /^npm_(package_|lifecycle_|config_(workspace|local_prefix|prefix|global_prefix|include_workspace))/i.test(
        key,
      )
    ) {
      delete env[key];
    }
  }
  return env;
}

function run(command, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      { maxBuffer: 64 * 1024 * 1024, env: childEnv(), timeout: 110_000, ...options },
      (error, stdout, stderr) => {
        if (error) {
          error.message = `${command} ${args.join(' ')} failed in ${options.cwd ?? process.cwd()}:\n${stdout}\n${stderr}`;
          reject(error);
        } else {
          resolvePromise({ stdout, stderr });
        }
      },
    );
  });
}

const consumerSource = `import { encodeSseEvent, NexStreamError, parseInput, type TrackRef } from '@nexstream/core';
import { createSseReplayBuffer, createSseStream, locateProgram, type SseStream } from '@nexstream/core/node';

const ref: TrackRef = parseInput('https://youtu.be/dQw4w9WgXcQ?si=abc');
if (ref.type === 'platform') {
  const id: string = ref.id;
  console.log(id);
}
const frame: string = encodeSseEvent({ event: 'done', data: { elapsedMs: 1 } });
const buffer = createSseReplayBuffer({ capacity: 10 });
const capacity: number = buffer.capacity;
type Stream = SseStream;
const make: typeof createSseStream = createSseStream;
const locate: typeof locateProgram = locateProgram;
const isError: boolean = NexStreamError.is(new Error('x'));
export { capacity, frame, isError, locate, make };
export type { Stream };
`;

const consumerCheck = `import assert from 'node:assert/strict';
import { encodeSseEvent, NexStreamError, parseInput, readSseEvents } from '@nexstream/core';
import { createSseReplayBuffer, createSseStream, locateProgram } from '@nexstream/core/node';

assert.deepEqual(parseInput('https://youtu.be/dQw4w9WgXcQ?si=abc'), {
  type: 'platform', platform: 'youtube', kind: 'track', id: 'dQw4w9WgXcQ', url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
});
assert.deepEqual(parseInput('gb-duw-00-00059'), { type: 'isrc', isrc: 'GBDUW0000059' });
assert.throws(() => parseInput('https://example.com/x'), (error) => NexStreamError.is(error) && error.code === 'NXS_INVALID_INPUT');
const frame = encodeSseEvent({ event: 'done', id: '1', data: { elapsedMs: 1 } });
const messages = [];
for await (const message of readSseEvents(new Response(frame).body)) messages.push(message);
assert.deepEqual(messages, [{ event: 'done', id: '1', data: '{"elapsedMs":1}' }]);
assert.equal(createSseReplayBuffer({ capacity: 3 }).capacity, 3);
assert.equal(typeof createSseStream, 'function');
assert.equal(typeof locateProgram, 'function');
console.log('pack-check ok');
`;

/**
 * Packs `packageDir`, installs it into a scratch project and checks it by name. Builds the package first
 * when its dist/ is missing. Always removes its temp folder.
 *
 * @returns {Promise<{ packageName: string, tarball: string, files: string[], installedWith: string, output: string }>}
 */
export async function packCheck({
  packageDir = join(workspaceRoot, 'packages/core'),
  withPackageDirs = [],
  source = consumerSource,
  check = consumerCheck,
  compilerOptions = {},
  installModes = ['--offline', '--prefer-offline'],
  log = () => {},
} = {}) {
  const temp = await mkdtemp(join(tmpdir(), 'nxs-pack-check-'));
  try {
    // The package under check first, then the workspace packages it needs (installed from their tarballs
    // too, since unpublished versions cannot come from the registry).
    const packedAll = [];
    for (const directory of [packageDir, ...withPackageDirs])
      packedAll.push(await packOne(directory, temp, log));
    const [{ packageName, files, filename }] = packedAll;

    const project = join(temp, 'project');
    await mkdir(project);
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'nexstream-pack-check', private: true, type: 'module' }, null, 2),
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2023',
            lib: ['ES2023'],
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            ...compilerOptions,
          },
          files: ['index.ts'],
        },
        null,
        2,
      ),
    );
    await writeFile(join(project, 'index.ts'), source);
    await writeFile(join(project, 'check.mjs'), check);

    const installedWith = await install(project, packedAll, installModes, log);

    // Types for node: builtins come from the workspace (the scratch project has no registry access).
    await mkdir(join(project, 'node_modules/@types'), { recursive: true });
    if (!existsSync(join(project, 'node_modules/@types/node')))
      await symlink(
        join(workspaceRoot, 'node_modules/@types/node'),
        join(project, 'node_modules/@types/node'),
        'dir',
      );

    await run(
      process.execPath,
      [join(workspaceRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'],
      { cwd: project },
    );
    log('tsc: the scratch project type-checks against the packed .d.ts files');
    const { stdout: output } = await run(process.execPath, ['check.mjs'], { cwd: project });
    log(output.trim());
    return { packageName, tarball: filename, files, installedWith, output };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function packOne(packageDir, temp, log) {
  const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
  const packageName = manifest.name;
  if (await distIsStale(packageDir)) {
    log(`building ${packageName} (dist/ is missing or older than src/)`);
    try {
      await run('npm', ['run', 'build', '-w', packageName], { cwd: workspaceRoot });
    } catch {
      await run('npx', ['--no-install', 'tsup'], { cwd: packageDir });
    }
  }
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp], {
    cwd: packageDir,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  const files = packed.files.map((file) => file.path);
  log(`packed ${packed.filename} (${files.length} files)`);
  return { manifest, packageName, tarball: join(temp, packed.filename), files, filename: packed.filename };
}

async function distIsStale(packageDir) {
  const entry = join(packageDir, 'dist/index.js');
  if (!existsSync(entry)) return true;
  const built = (await stat(entry)).mtimeMs;
  const sources = await readdir(join(packageDir, 'src'), { recursive: true, withFileTypes: true });
  for (const source of sources) {
    if (!source.isFile() || source.name.endsWith('.test.ts')) continue;
    if ((await stat(join(source.parentPath, source.name))).mtimeMs > built) return true;
  }
  return false;
}

async function install(project, packedAll, installModes, log) {
  const base = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'];
  const tarballs = packedAll.map((packed) => packed.tarball);
  for (const mode of installModes) {
    try {
      await run('npm', [...base, mode, ...tarballs], { cwd: project });
      log(`installed the tarball${tarballs.length > 1 ? 's' : ''} with npm ${mode}`);
      return mode.slice(2);
    } catch (error) {
      log(`npm install ${mode} failed: ${String(error.message).split('\n').slice(-3).join(' ')}`);
    }
  }
  // Last resort: unpack by hand and link the runtime dependencies from the workspace.
  const unpacked = new Set(packedAll.map((packed) => packed.packageName));
  for (const { manifest, tarball } of packedAll) {
    const target = join(project, 'node_modules', ...manifest.name.split('/'));
    await mkdir(target, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      if (unpacked.has(dependency)) continue;
      const link = join(project, 'node_modules', ...dependency.split('/'));
      if (existsSync(link)) continue;
      await mkdir(dirname(link), { recursive: true });
      await symlink(join(workspaceRoot, 'node_modules', dependency), link, 'dir');
    }
  }
  log('unpacked the tarball by hand and linked its dependencies from the workspace');
  return 'extracted';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await packCheck({ log: (line) => console.log(`pack-check: ${line}`) });
  console.log(`pack-check: ${result.packageName} OK (${result.tarball}, installed ${result.installedWith})`);
}
