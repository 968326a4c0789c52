/**
 * The event ids a partition applied most recently, so a duplicate of an event (the same
 * event_id published twice, e.g. by a gateway's producer retry) is scored once. Ids are
 * kept as 52-bit hashes (two FNV-1a variants): a false "seen" needs a collision within
 * the window, ≈ capacity / 2^52 per event. Bounded: the oldest id goes first.
 *
 * `upTo` is the offset of the newest record the ring has seen. It is what makes the ring
 * safe to restore from a changelog that is ahead of another store's changelog: a record
 * at or below `upTo` is a re-delivery, which the per-store applied offsets judge instead,
 * so the ring only judges records past it.
 *
 * Rollback is an undo log, not a copy: `mark()` at a batch's first use starts a log of
 * what each `add` overwrote, and `undo(mark)` walks it back, so a batch that adds k ids
 * pays O(k) to be undoable instead of copying the whole ring and its set.
 */
export class EventIdRing {
  private readonly ring: Float64Array;
  /** The ring's ids as a set (an open-addressing table, see IdSet): no boxed numbers per id. */
  private readonly set: IdSet;
  private head = 0;
  private size = 0;
  /** Per `add` since the last mark: the hash it evicted, or NaN when the ring was not full. */
  private log: number[] | undefined;

  constructor(
    readonly capacity: number,
    public upTo = -1,
  ) {
    this.ring = new Float64Array(Math.max(1, capacity));
    this.set = new IdSet(Math.max(1, capacity));
  }

  has(h: number): boolean {
    return this.set.has(h);
  }

  add(h: number): void {
    if (this.capacity <= 0 || this.set.has(h)) return;
    if (this.size === this.capacity) {
      const evicted = this.ring[this.head] as number;
      this.set.delete(evicted);
      this.log?.push(evicted);
    } else {
      this.size += 1;
      this.log?.push(NaN);
    }
    this.ring[this.head] = h;
    this.set.add(h);
    this.head = (this.head + 1) % this.capacity;
  }

  /** Starts a new undo log (dropping the previous one): what `undo` returns the ring to. */
  mark(): RingMark {
    this.log = [];
    return { ring: this, log: this.log, upTo: this.upTo };
  }

  /** Puts the ring back as it was at `m`, if `m` is its latest mark (false otherwise: nothing is done). */
  undo(m: RingMark): boolean {
    if (m.ring !== this || m.log !== this.log) return false;
    const log = m.log;
    for (let i = log.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.set.delete(this.ring[this.head] as number);
      const evicted = log[i] as number;
      if (Number.isNaN(evicted)) this.size -= 1;
      else {
        this.ring[this.head] = evicted;
        this.set.add(evicted);
      }
    }
    this.log = undefined;
    this.upTo = m.upTo;
    return true;
  }

  clone(): EventIdRing {
    const c = new EventIdRing(this.capacity, this.upTo);
    c.ring.set(this.ring);
    c.set.copyFrom(this.set);
    c.head = this.head;
    c.size = this.size;
    return c;
  }

  /** `[upTo: f64][hash: f64]*`, oldest first. */
  serialize(): Buffer {
    const start = this.size < this.capacity ? 0 : this.head;
    if (LITTLE_ENDIAN) {
      // The Float64Array's own bytes are the LE layout: two block copies instead of a write per id.
      const f = new Float64Array(1 + this.size);
      f[0] = this.upTo;
      const firstRun = Math.min(this.size, this.capacity - start);
      f.set(this.ring.subarray(start, start + firstRun), 1);
      if (firstRun < this.size) f.set(this.ring.subarray(0, this.size - firstRun), 1 + firstRun);
      return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
    }
    const out = Buffer.allocUnsafe(8 + this.size * 8);
    out.writeDoubleLE(this.upTo, 0);
    for (let i = 0, at = 8; i < this.size; i++, at += 8) out.writeDoubleLE(this.ring[(start + i) % this.capacity] as number, at);
    return out;
  }

  static deserialize(capacity: number, b: Buffer): EventIdRing {
    const ring = new EventIdRing(capacity, b.length >= 8 ? b.readDoubleLE(0) : -1);
    for (let at = 8; at + 8 <= b.length; at += 8) ring.add(b.readDoubleLE(at));
    return ring;
  }

}

/**
 * A set of event-id hashes (non-negative integers below 2^52) in one Float64Array with
 * linear probing and backward-shift deletion, sized to twice a power of two above its
 * bound. A Set<number> of such values boxes every id into a heap number, which showed up
 * as GC and hashing on the detectors' hot path.
 */
class IdSet {
  private readonly slots: Float64Array;
  private readonly mask: number;

  constructor(bound: number) {
    let size = 2;
    while (size < bound * 2) size *= 2;
    this.slots = new Float64Array(size).fill(EMPTY);
    this.mask = size - 1;
  }

  has(h: number): boolean {
    for (let i = this.home(h); ; i = (i + 1) & this.mask) {
      const v = this.slots[i] as number;
      if (v === h) return true;
      if (v === EMPTY) return false;
    }
  }

  add(h: number): void {
    let i = this.home(h);
    for (; ; i = (i + 1) & this.mask) {
      const v = this.slots[i] as number;
      if (v === h) return;
      if (v === EMPTY) break;
    }
    this.slots[i] = h;
  }

  delete(h: number): void {
    const mask = this.mask;
    let i = this.home(h);
    for (; ; i = (i + 1) & mask) {
      const v = this.slots[i] as number;
      if (v === EMPTY) return;
      if (v === h) break;
    }
    // Backward shift: move later members of the probe run into the hole when their home allows it.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const v = this.slots[j] as number;
      if (v === EMPTY) break;
      const home = this.home(v);
      // v may move to i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.slots[i] = v;
        i = j;
      }
    }
    this.slots[i] = EMPTY;
  }

  copyFrom(other: IdSet): void {
    this.slots.set(other.slots);
  }

  private home(h: number): number {
    // The low 32 bits of the FNV-1a half are well mixed.
    return (h / 0x100000) & this.mask;
  }
}

/** Event-id hashes are ≥ 0, so -1 marks a free slot. */
const EMPTY = -1;

/** What `EventIdRing.undo` returns a ring to. */
export interface RingMark {
  readonly ring: EventIdRing;
  readonly log: readonly number[];
  readonly upTo: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** A 52-bit hash of an event id: 32 bits of FNV-1a and 20 of a second FNV-1a with another basis. */
export function eventIdHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}
