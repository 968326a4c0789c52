import { decayFactor } from './decay.js';

/**
 * Exponentially decayed mean and variance in event time (West's weighted incremental
 * update with weights decaying by half-life): O(1) per observation, three numbers of
 * state. `w` is the decayed weight of the observations behind the estimate.
 */
export interface Moments {
  w: number;
  mean: number;
  /** Decayed sum of squared deviations; variance = s / w. */
  s: number;
  /** Event time the weights refer to. */
  at: number;
}

/** Shared and frozen: copy it before updating in place. */
export const NO_MOMENTS: Readonly<Moments> = Object.freeze({ w: 0, mean: 0, s: 0, at: 0 });

/** Adds x observed at t, into `m` itself. A late x (t < at) enters with its own decayed weight; the reference time never moves back. */
export function addMomentInPlace(m: Moments, x: number, t: number, halfLifeMs: number): void {
  if (m.w === 0) {
    m.w = 1;
    m.mean = x;
    m.s = 0;
    m.at = t;
    return;
  }
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
  m.w = w;
  m.mean = mean;
  m.s = s;
  m.at = at;
}

export function stdOf(m: Readonly<Moments>): number {
  return m.w > 0 ? Math.sqrt(Math.max(0, m.s / m.w)) : 0;
}
