/**
 * A bounded map that forgets the least recently used entries first, counting what it
 * forgets. Two generations instead of a reordered list ("hashlru"): a hit in the young
 * generation touches nothing, which matters because deleting and re-inserting a key of a
 * large Map on every hit costs V8 microseconds (measured: ~13 µs at 5k entries).
 * Entries live in at most one generation; when the young one fills, the old one is
 * dropped whole and the young one becomes old. At most `capacity` entries are kept.
 */
export class Lru<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`LRU capacity must be a non-negative integer, got ${capacity}`);
    this.generation = Math.floor(capacity / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o === undefined) return undefined;
    this.old.delete(key);
    this.insertYoung(key, o);
    return o;
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    if (this.capacity === 1) {
      this.evictions += this.young.has(key) ? 0 : this.young.size;
      this.young.clear();
      this.young.set(key, value);
      return;
    }
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.insertYoung(key, value);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }

  private insertYoung(key: K, value: V): void {
    if (this.young.size >= this.generation) {
      this.evictions += this.old.size;
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
