import { EventIdRing } from './event-id-ring.js';

/**
 * The runtime's own changelog record per partition: the live blocks it published
 * (subject → event-time expiry, 0 = none) and the event-id ring. Layout:
 * `[u32 blocks JSON length][blocks JSON][ring]` — the ring is binary (see EventIdRing).
 */
export function encodeRuntimeRecord(seen: EventIdRing, blocks: ReadonlyMap<string, number>): Buffer {
  const json = Buffer.from(JSON.stringify([...blocks]));
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(json.length, 0);
  return Buffer.concat([head, json, seen.serialize()]);
}

export function decodeRuntimeRecord(capacity: number, b: Buffer): { seen: EventIdRing; blocks: Map<string, number> } {
  const n = b.readUInt32LE(0);
  const blocks = new Map(JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as Array<[string, number]>);
  return { seen: EventIdRing.deserialize(capacity, b.subarray(4 + n)), blocks };
}
