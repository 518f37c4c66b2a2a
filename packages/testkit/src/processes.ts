import { readdirSync, readFileSync } from 'node:fs';

/** Options of {@link childProcessIds}. */
export interface ChildProcessIdsOptions {
  /** Also list zombies (exited, not yet reaped by their parent). Default false: only live processes. */
  includeZombies?: boolean;
  /** The process whose descendants to list. Default `process.pid`. */
  rootPid?: number;
}

/**
 * The pids of every live descendant of this process (children, grandchildren…), read from `/proc`, for
 * "no child process left behind" assertions after a test stops what it started. Linux only; on a system
 * without `/proc` it returns `[]`.
 *
 * @example
 * ```ts
 * const before = childProcessIds();
 * await channel.stop();
 * expect(childProcessIds()).toEqual(before);
 * ```
 */
export function childProcessIds(options: ChildProcessIdsOptions = {}): number[] {
  const rootPid = options.rootPid ?? process.pid;
  const childrenOf = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // The process exited while we were reading.
    }
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const parentPid = Number(fields[1]);
    if (!options.includeZombies && (state === 'Z' || state === 'X' || state === 'x')) continue;
    const siblings = childrenOf.get(parentPid);
    if (siblings) siblings.push(Number(entry));
    else childrenOf.set(parentPid, [Number(entry)]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of childrenOf.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found.sort((left, right) => left - right);
}
