import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/**
 * A channel's state. `slate` means running but showing the slate because there is nothing playable (empty
 * playlist, the end of a non-looping playlist, or every item failed); `paused` shows the slate on request.
 */
export type ChannelState = 'stopped' | 'starting' | 'playing' | 'paused' | 'slate' | 'stopping';

/** Why the slate is on air. */
export type SlateReason = 'paused' | 'empty' | 'ended' | 'failing';

/** A move from one state to another, as the `state-changed` event carries it. */
export interface StateChange {
  from: ChannelState;
  to: ChannelState;
  slateReason?: SlateReason;
}

/**
 * The channel's state machine: `stopped → starting → playing | slate | paused → stopping → stopped`.
 * It holds the state and the slate's reason, reports every move, and refuses the commands the state does not
 * allow with `NXS_CONFLICT`.
 */
export interface ChannelLifecycle {
  readonly state: ChannelState;
  /** Why the slate is on air, in `slate` and `paused`. */
  readonly slateReason: SlateReason | undefined;
  /** True while the encoder and playout run (not stopped, starting or stopping). */
  readonly onAir: boolean;
  /** True in `stopping` and `stopped`: work for the run in progress is to be dropped. */
  readonly winding: boolean;
  /** Moves to `to` (a no-op when nothing changes) and reports it. */
  set(to: ChannelState, reason?: SlateReason): void;
  /** `stopped → starting`, checked and set at once so two concurrent starts cannot both pass. */
  beginStart(): void;
  /** @throws NexStreamError `NXS_CONFLICT` unless playing. */
  assertCanPause(): void;
  /** @throws NexStreamError `NXS_CONFLICT` unless paused. */
  assertCanResume(): void;
}

/** Creates the state machine of channel `channelId`; `onChange` hears every move. */
export function createChannelLifecycle(
  channelId: string,
  initial: ChannelState,
  onChange: (change: StateChange) => void,
): ChannelLifecycle {
  let state = initial;
  let slateReason: SlateReason | undefined;
  const conflict = (message: string) => new NexStreamError(NexStreamErrorCode.Conflict, message);
  return {
    get state() {
      return state;
    },
    get slateReason() {
      return slateReason;
    },
    get onAir() {
      return state !== 'stopped' && state !== 'stopping' && state !== 'starting';
    },
    get winding() {
      return state === 'stopping' || state === 'stopped';
    },
    set(to, reason) {
      if (to === state && reason === slateReason) return;
      const from = state;
      state = to;
      slateReason = to === 'slate' || to === 'paused' ? reason : undefined;
      onChange({ from, to, ...(slateReason ? { slateReason } : {}) });
    },
    beginStart() {
      if (state !== 'stopped') throw conflict(`channel ${channelId} is already ${state}`);
      this.set('starting');
    },
    assertCanPause() {
      if (state !== 'playing') throw conflict(`channel ${channelId} cannot pause while ${state}`);
    },
    assertCanResume() {
      if (state !== 'paused') throw conflict(`channel ${channelId} is not paused (${state})`);
    },
  };
}
