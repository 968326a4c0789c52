import type { IAccessEvent } from '@portcullis/proto';
import { hashId, ringAdd, ringHas } from './event-ring.js';

/**
 * The gate every stateful scorer puts an event through before it counts: an event older
 * than the entity's newest by more than the lateness bound is dropped (its window has
 * been scored), and one whose id is in the recent ring is a redelivery.
 */
export interface Admitted {
  /** Event time. */
  readonly t: number;
  /** The recent-ids ring with this event in it. */
  readonly recent: readonly number[];
  /** The entity's newest event time after this one. */
  readonly last: number;
}

let memoId = '';
let memoHash = hashId('');

export function admit(e: IAccessEvent, last: number, recent: readonly number[], maxLatenessMs: number, dedupeWindow: number): Admitted | undefined {
  const t = Number(e.time ?? 0);
  if (!(t > 0)) return undefined;
  if (last > 0 && t < last - maxLatenessMs) return undefined;
  const id = e.eventId ?? '';
  if (id === '' || dedupeWindow <= 0) return { t, recent, last: Math.max(last, t) };
  // Every scorer admits the same event in turn: hash its id once (a pure memo of the last id).
  let h: number;
  if (id === memoId) h = memoHash;
  else {
    h = hashId(id);
    memoId = id;
    memoHash = h;
  }
  if (ringHas(recent, h)) return undefined;
  return { t, recent: ringAdd(recent, h, dedupeWindow), last: Math.max(last, t) };
}
