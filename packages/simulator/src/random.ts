/**
 * Seeded randomness for scenarios: the same seed gives the same fleet, the same traffic
 * and the same injections on every machine. mulberry32, as the detectors' unit-test
 * traffic fixture uses, so the two stay comparable.
 */
export type Rand = () => number;

export function prng(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An independent stream derived from a seed and a label, so adding draws in one place does not shift another. */
export function fork(seed: number, label: string): Rand {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return prng(h >>> 0);
}

/** Standard normal by Box–Muller. */
export function gaussian(rand: Rand): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** A log-normal count around `median` with log spread `sigma`, at least `min`. */
export function logNormal(rand: Rand, median: number, sigma: number, min = 0): number {
  return Math.max(min, Math.round(median * Math.exp(sigma * gaussian(rand))));
}

export function between(rand: Rand, lo: number, hi: number): number {
  return lo + (hi - lo) * rand();
}

export function intBetween(rand: Rand, lo: number, hi: number): number {
  return Math.floor(between(rand, lo, hi + 1));
}

export function chance(rand: Rand, p: number): boolean {
  return rand() < p;
}

/** Poisson draw (Knuth; the means here are small). */
export function poisson(rand: Rand, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k += 1;
    p *= rand();
  }
  return k;
}

export function oneOf<T>(rand: Rand, items: readonly T[]): T {
  if (items.length === 0) throw new Error('oneOf: no items');
  return items[Math.floor(rand() * items.length)] as T;
}

/** An item drawn by weight. */
export function weighted<T>(rand: Rand, items: ReadonlyArray<readonly [T, number]>): T {
  let total = 0;
  for (const [, w] of items) total += w;
  let r = rand() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r <= 0) return item;
  }
  const last = items[items.length - 1];
  if (!last) throw new Error('weighted: no items');
  return last[0];
}

export function shuffle<T>(rand: Rand, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A UUIDv7-shaped id for an event at `time` (ms), deterministic under the stream. */
export function uuidV7(rand: Rand, time: number): string {
  const hex = (n: number, width: number) => Math.floor(n).toString(16).padStart(width, '0').slice(-width);
  const ts = hex(time, 12);
  const r = () => hex(rand() * 0x10000, 4);
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${r().slice(1)}-${hex(0x8000 + rand() * 0x3fff, 4)}-${r()}${r()}${r()}`;
}
