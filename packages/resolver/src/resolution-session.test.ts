import { describe, expect, it } from 'vitest';
import { createEventSession } from './resolution-session.js';

describe('event session', () => {
  it('replays every event to a late iterator and ends with done', async () => {
    const session = createEventSession<{ type: 'tick'; n: number }, number>(async ({ emit }) => {
      emit({ type: 'tick', n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      emit({ type: 'tick', n: 2 });
      return 42;
    });
    expect(await session.result).toBe(42);
    // Not a thenable: an async function that returns the session returns the session, not its result.
    expect('then' in session).toBe(false);
    const returned = await (async () => session)();
    expect(returned).toBe(session);
    const types: string[] = [];
    for await (const event of session) types.push(event.type);
    expect(types).toEqual(['tick', 'tick', 'done']);
  });

  it('turns a failure into an error event and a rejected result, without an unhandled rejection', async () => {
    const session = createEventSession<{ type: 'tick' }, number>(async () => {
      throw new Error('boom');
    });
    const types: string[] = [];
    for await (const event of session) types.push(event.type);
    expect(types).toEqual(['error', 'done']);
    await expect(session.result).rejects.toMatchObject({ code: 'NXS_INTERNAL', message: 'boom' });
  });

  it('aborts the runner when the caller signal aborts, with NXS_ABORTED', async () => {
    const controller = new AbortController();
    const session = createEventSession<{ type: 'tick' }, number>(
      ({ signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('stopped'))),
        ),
      { signal: controller.signal },
    );
    controller.abort();
    await expect(session.result).rejects.toMatchObject({ code: 'NXS_ABORTED' });
    expect(session.finished).toBe(true);
  });
});
