/**
 * A small ring of hashed event ids per entity, so an event redelivered after a crash
 * (the runtime writes the changelog before it commits offsets) is not counted twice.
 * 32-bit FNV-1a hashes instead of the ids: a UUID costs ~80 bytes as a string, its hash
 * 8 as a number; a false "seen" needs a collision within the window (≈ window / 2^32).
 */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function ringHas(ring: readonly number[], h: number): boolean {
  for (let i = 0; i < ring.length; i++) if (ring[i] === h) return true;
  return false;
}

/** A new ring with `h` appended and the oldest dropped beyond `capacity` (0 disables it). */
export function ringAdd(ring: readonly number[], h: number, capacity: number): readonly number[] {
  if (capacity <= 0) return ring.length === 0 ? ring : [];
  return appendCapped(ring, h, capacity);
}

/** A new array: `xs` with `x` appended, the oldest dropped beyond `capacity` (one exact-size allocation). */
export function appendCapped<T>(xs: readonly T[], x: T, capacity: number): T[] {
  const keep = xs.length >= capacity ? capacity - 1 : xs.length;
  const from = xs.length - keep;
  const next = new Array<T>(keep + 1);
  for (let i = 0; i < keep; i++) next[i] = xs[from + i] as T;
  next[keep] = x;
  return next;
}

/** In place: appends `x` to `xs` and drops the oldest beyond `capacity` (same contents as appendCapped). */
export function pushCapped<T>(xs: T[], x: T, capacity: number): void {
  if (xs.length >= capacity) {
    const drop = xs.length - capacity + 1;
    if (drop === 1) xs.shift();
    else xs.splice(0, drop);
  }
  xs.push(x);
}

/** In place: ringAdd on a ring the caller owns. */
export function ringPush(ring: number[], h: number, capacity: number): void {
  if (capacity <= 0) ring.length = 0;
  else pushCapped(ring, h, capacity);
}
