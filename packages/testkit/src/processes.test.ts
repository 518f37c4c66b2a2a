import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childProcessIds } from './processes.js';

describe('childProcessIds', () => {
  it('sees a spawned sleep while it runs and not once it is killed and reaped', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await once(sleeper, 'spawn');
      expect(childProcessIds()).toContain(sleeper.pid);
    } finally {
      await stop(sleeper);
    }
    expect(childProcessIds()).not.toContain(sleeper.pid);
  });

  it('sees grandchildren too', async () => {
    // A shell that starts sleep in the background and waits for it: sleep is our grandchild.
    const shell = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    try {
      const [line] = (await once(shell.stdout!, 'data')) as [Buffer];
      const grandchild = Number(line.toString().trim());
      const found = childProcessIds();
      expect(found).toContain(shell.pid);
      expect(found).toContain(grandchild);
      expect(childProcessIds({ rootPid: shell.pid })).toEqual([grandchild]);
    } finally {
      const exited = once(shell, 'exit');
      process.kill(-shell.pid!, 'SIGKILL');
      await exited;
    }
    expect(childProcessIds()).not.toContain(shell.pid);
  });

  it('leaves out zombies (exited, never reaped) unless asked for them', async () => {
    // sh forks `sleep 0`, then becomes `sleep 30` by exec, which never reaps it: a zombie grandchild.
    const shell = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(shell.stdout!, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      await waitFor(() => readState(zombie) === 'Z');
      expect(childProcessIds()).toContain(shell.pid);
      expect(childProcessIds()).not.toContain(zombie);
      expect(childProcessIds({ includeZombies: true })).toContain(zombie);
    } finally {
      await stop(shell);
    }
  });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

function readState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
