import type { IAccessEvent } from '@portcullis/proto';
import { hashId, ringHas, ringPush } from './event-ring.js';

let memoId = '';
let memoHash = hashId('');

/**
 * The gate every stateful scorer puts an event through before it counts: an event older
 * than the entity's newest by more than the lateness bound is dropped (its window has
 * been scored), and one whose id is in the recent ring is a redelivery.
 *
 * Returns the event time when the event counts (its id hash is then in `recent`, added in
 * place), 0 when it does not (nothing touched). The entity's newest time after it is
 * Math.max(last, t), left to the caller.
 */
export function admitInPlace(e: IAccessEvent, last: number, recent: number[], maxLatenessMs: number, dedupeWindow: number): number {
  const t = Number(e.time ?? 0);
  if (!(t > 0)) return 0;
  if (last > 0 && t < last - maxLatenessMs) return 0;
  const id = e.eventId ?? '';
  if (id === '' || dedupeWindow <= 0) return t;
  const h = idHash(id);
  if (ringHas(recent, h)) return 0;
  ringPush(recent, h, dedupeWindow);
  return t;
}

/** Every scorer admits the same event in turn: hash its id once (a pure memo of the last id). */
function idHash(id: string): number {
  if (id === memoId) return memoHash;
  const h = hashId(id);
  memoId = id;
  memoHash = h;
  return h;
}
