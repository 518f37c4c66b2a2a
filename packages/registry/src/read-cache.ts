/**
 * A small LRU cache of look-up results in front of the store. Each entry is tagged (with its ISRC and media id)
 * so that a write can drop every key that may now be stale, whichever key (ISRC, platform id, media id) was
 * used to look it up. A generation counter lets a read that was in flight during a write refuse to put its
 * now-stale result into the cache.
 */
export interface ReadCache<Value> {
  /** The cached value, or `undefined` (missing or older than the time to live). Marks it as recently used. */
  get(key: string): Value | undefined;
  /** Caches `value` under `key` unless a write happened since `generation` was read. */
  set(key: string, value: Value, tags: readonly string[], generation: number): void;
  /** Drops every key cached with this tag. */
  invalidate(tag: string): void;
  /** Drops everything. */
  clear(): void;
  /** Increases on every invalidation; read it before a store read and hand it to {@link ReadCache.set}. */
  readonly generation: number;
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

interface Slot<Value> {
  value: Value;
  tags: readonly string[];
  storedAt: number;
}

/** Creates a {@link ReadCache}. `maxEntries` 0 disables caching. `ttlMs` bounds staleness against other writers. */
export function createReadCache<Value>(options: {
  maxEntries: number;
  ttlMs: number;
  now: () => number;
}): ReadCache<Value> {
  const { maxEntries, ttlMs, now } = options;
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used key first.
  const slots = new Map<string, Slot<Value>>();
  const keysByTag = new Map<string, Set<string>>();
  let generation = 0;
  let hits = 0;
  let misses = 0;

  function forget(key: string, slot: Slot<Value>): void {
    slots.delete(key);
    for (const tag of slot.tags) {
      const keys = keysByTag.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) keysByTag.delete(tag);
    }
  }

  return {
    get(key) {
      const slot = slots.get(key);
      if (slot === undefined) {
        misses += 1;
        return undefined;
      }
      if (now() - slot.storedAt > ttlMs) {
        forget(key, slot);
        misses += 1;
        return undefined;
      }
      slots.delete(key);
      slots.set(key, slot);
      hits += 1;
      return slot.value;
    },
    set(key, value, tags, readGeneration) {
      if (maxEntries <= 0 || readGeneration !== generation) return;
      const existing = slots.get(key);
      if (existing !== undefined) forget(key, existing);
      slots.set(key, { value, tags, storedAt: now() });
      for (const tag of tags) {
        let keys = keysByTag.get(tag);
        if (keys === undefined) {
          keys = new Set();
          keysByTag.set(tag, keys);
        }
        keys.add(key);
      }
      if (slots.size > maxEntries) {
        const oldest = slots.keys().next().value as string;
        forget(oldest, slots.get(oldest) as Slot<Value>);
      }
    },
    invalidate(tag) {
      generation += 1;
      const keys = keysByTag.get(tag);
      if (keys === undefined) return;
      for (const key of [...keys]) {
        const slot = slots.get(key);
        if (slot !== undefined) forget(key, slot);
      }
    },
    clear() {
      generation += 1;
      slots.clear();
      keysByTag.clear();
    },
    get generation() {
      return generation;
    },
    get size() {
      return slots.size;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}
