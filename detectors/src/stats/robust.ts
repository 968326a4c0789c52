/** Scale that makes the MAD a consistent estimate of σ under a normal distribution. */
export const MAD_TO_SIGMA = 1.4826;

/** Median of a small sample (copies; the input is never reordered). NaN when empty. */
export function medianOf(xs: readonly number[]): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const mid = n >> 1;
  return n % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median and median absolute deviation of a small sample. */
export function medianMad(xs: readonly number[]): { median: number; mad: number } {
  const median = medianOf(xs);
  return { median, mad: medianOf(xs.map((x) => Math.abs(x - median))) };
}

/** Robust z of x against a sample: (x − median) / (1.4826·max(MAD, minMad)). */
export function robustZ(x: number, xs: readonly number[], minMad: number): { z: number; median: number; mad: number } {
  const { median, mad } = medianMad(xs);
  return { z: (x - median) / (MAD_TO_SIGMA * Math.max(mad, minMad)), median, mad };
}
