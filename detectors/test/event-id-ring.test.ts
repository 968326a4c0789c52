import { describe, expect, it } from 'vitest';
import { EventIdRing } from '../src/index.js';

let seed = 7;
const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
/** A hash from a small range, so repeats (no-op adds) happen too. */
const hash = (): number => Math.floor(rand() * 600) * 0x100000 + 17;

/** The layout serialize() had before its block-copy fast path: `[upTo][hash]*` LE, oldest first. */
function referenceSerialize(upTo: number, ids: readonly number[]): Buffer {
  const out = Buffer.alloc(8 + ids.length * 8);
  out.writeDoubleLE(upTo, 0);
  ids.forEach((h, i) => out.writeDoubleLE(h, 8 + i * 8));
  return out;
}

describe('EventIdRing undo log', () => {
  it('undo returns the ring to its mark, as a copy taken there would be', () => {
    for (const capacity of [1, 3, 64, 257]) {
      const ring = new EventIdRing(capacity);
      for (let round = 0; round < 40; round++) {
        const before = ring.clone();
        const m = ring.mark();
        ring.upTo += 10;
        const adds = Math.floor(rand() * capacity * 2.5);
        for (let i = 0; i < adds; i++) ring.add(hash());
        if (rand() < 0.5) {
          expect(ring.undo(m)).toBe(true);
          expect(ring.serialize()).toEqual(before.serialize());
          expect(ring.upTo).toBe(before.upTo);
          for (let h = 0; h < 600; h++) expect(ring.has(h * 0x100000 + 17)).toBe(before.has(h * 0x100000 + 17));
          // A second undo of the same mark does nothing.
          expect(ring.undo(m)).toBe(false);
        }
      }
    }
  });

  it('only the latest mark can be undone', () => {
    const ring = new EventIdRing(4);
    const first = ring.mark();
    ring.add(1);
    const second = ring.mark();
    ring.add(2);
    expect(ring.undo(first)).toBe(false);
    expect(ring.undo(second)).toBe(true);
    expect([ring.has(1), ring.has(2)]).toEqual([true, false]);
  });

  it('serializes in the reference layout, oldest first, before and after wrapping', () => {
    for (const capacity of [1, 5, 2048]) {
      const ring = new EventIdRing(capacity, 41);
      const added: number[] = [];
      for (let i = 0; i < capacity * 3 + 2; i++) {
        const h = i * 0x100000 + (i % 7);
        ring.add(h);
        added.push(h);
        if (i % Math.max(1, Math.floor(capacity / 3)) === 0) expect(ring.serialize()).toEqual(referenceSerialize(41, added.slice(-capacity)));
      }
      const back = EventIdRing.deserialize(capacity, ring.serialize());
      expect(back.serialize()).toEqual(ring.serialize());
    }
    expect(new EventIdRing(8, -1).serialize()).toEqual(referenceSerialize(-1, []));
  });
});

describe('EventIdRing membership', () => {
  it('agrees with a reference ring of the last `capacity` distinct ids, under heavy probe collisions', () => {
    for (const capacity of [1, 2, 7, 64, 300]) {
      const ring = new EventIdRing(capacity);
      const reference: number[] = [];
      // Homes (the hash's high part) from a handful of values, so probe runs are long and deletions shift them.
      const colliding = (): number => Math.floor(rand() * 5) * 0x100000 * 64 + Math.floor(rand() * 3000);
      for (let i = 0; i < 6_000; i++) {
        const h = colliding();
        ring.add(h);
        if (!reference.includes(h)) {
          reference.push(h);
          if (reference.length > capacity) reference.shift();
        }
        if (i % 97 === 0) {
          for (let k = 0; k < 5 * 0x100000 * 64; k += 0x100000 * 64) for (let low = 0; low < 3000; low += 37) expect(ring.has(k + low)).toBe(reference.includes(k + low));
          expect(ring.clone().serialize()).toEqual(referenceSerialize(ring.upTo, reference));
        }
      }
    }
  });
});
