import { decayFactor } from './decay.js';

/**
 * Exponentially decayed mean and variance in event time (West's weighted incremental
 * update with weights decaying by half-life): O(1) per observation, three numbers of
 * state. `w` is the decayed weight of the observations behind the estimate.
 */
export interface Moments {
  readonly w: number;
  readonly mean: number;
  /** Decayed sum of squared deviations; variance = s / w. */
  readonly s: number;
  /** Event time the weights refer to. */
  readonly at: number;
}

export const NO_MOMENTS: Moments = { w: 0, mean: 0, s: 0, at: 0 };

/** Adds x observed at t. A late x (t < at) enters with its own decayed weight; the reference time never moves back. */
export function addMoment(m: Moments, x: number, t: number, halfLifeMs: number): Moments {
  if (m.w === 0) return { w: 1, mean: x, s: 0, at: t };
  let w0 = m.w;
  let s0 = m.s;
  let wx = 1;
  let at = m.at;
  if (t >= m.at) {
    const d = decayFactor(t - m.at, halfLifeMs);
    w0 *= d;
    s0 *= d;
    at = t;
  } else {
    wx = decayFactor(m.at - t, halfLifeMs);
  }
  const w = w0 + wx;
  const mean = m.mean + (wx / w) * (x - m.mean);
  const s = s0 + wx * (x - m.mean) * (x - mean);
  return { w, mean, s, at };
}

export function stdOf(m: Moments): number {
  return m.w > 0 ? Math.sqrt(Math.max(0, m.s / m.w)) : 0;
}
