/** Releases one slot taken with {@link ClientLimits.acquire}; calling it again does nothing. */
export type ReleaseSlot = () => void;

/**
 * Counters of concurrent requests (uploads, event streams) by key (a client, a channel), so the limits of
 * `createHttpHandler` hold across every handler that shares them. `createHttpHandler` shares one
 * instance between all handlers made from the same broadcaster (or the same channel) by default; pass
 * your own to share it wider, for example between two broadcasters.
 */
export interface ClientLimits {
  /** Takes a slot of `key` when fewer than `max` are taken; the release function, or `undefined` when full. */
  acquire(key: string, max: number): ReleaseSlot | undefined;
  /** How many slots of `key` are taken now. */
  count(key: string): number;
}

/** Creates an empty {@link ClientLimits} (keys with no slot taken are forgotten, so it does not grow). */
export function createClientLimits(): ClientLimits {
  const counts = new Map<string, number>();
  return {
    acquire(key, max) {
      const taken = counts.get(key) ?? 0;
      if (taken >= max) return undefined;
      counts.set(key, taken + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(key) ?? 1) - 1;
        if (left <= 0) counts.delete(key);
        else counts.set(key, left);
      };
    },
    count: (key) => counts.get(key) ?? 0,
  };
}
