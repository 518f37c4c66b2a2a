/** A listener for one event type. */
export type Listener<T> = (payload: T) => void;

/**
 * A tiny typed event emitter: `on` returns its own unsubscribe function, a throwing listener never breaks
 * the emitter or other listeners (its error goes to `onListenerError`).
 */
export interface Emitter<Events extends object> {
  /** Subscribe; returns the function that unsubscribes. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void;
  /** Subscribe to every event (used by the SSE stream); returns the unsubscribe function. */
  onAny(listener: (type: keyof Events, payload: Events[keyof Events]) => void): () => void;
  /** Deliver `payload` to the listeners of `type`, synchronously, in subscription order. */
  emit<K extends keyof Events>(type: K, payload: Events[K]): void;
  /** Number of listeners of `type`. */
  listenerCount(type: keyof Events): number;
}

/** Creates an {@link Emitter}. */
export function createEmitter<Events extends object>(
  onListenerError: (error: unknown) => void = (error) => queueMicrotask(() => console.error(error)),
): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<Listener<never>>>();
  const anyListeners = new Set<(type: keyof Events, payload: Events[keyof Events]) => void>();
  return {
    on(type, listener) {
      let set = listeners.get(type);
      if (!set) {
        set = new Set();
        listeners.set(type, set);
      }
      set.add(listener as Listener<never>);
      return () => {
        set.delete(listener as Listener<never>);
      };
    },
    onAny(listener) {
      anyListeners.add(listener);
      return () => {
        anyListeners.delete(listener);
      };
    },
    emit(type, payload) {
      for (const listener of [...(listeners.get(type) ?? [])]) {
        try {
          (listener as Listener<typeof payload>)(payload);
        } catch (error) {
          onListenerError(error);
        }
      }
      for (const listener of [...anyListeners]) {
        try {
          listener(type, payload);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    listenerCount: (type) => listeners.get(type)?.size ?? 0,
  };
}
