/**
 * Exponential decay in event time. A value observed `ageMs` ago weighs 2^(-age/halfLife);
 * an age ≤ 0 (an event from the future relative to the reference) weighs 1, so a late
 * event never inflates a count.
 */
export function decayFactor(ageMs: number, halfLifeMs: number): number {
  return ageMs <= 0 ? 1 : Math.pow(2, -ageMs / halfLifeMs);
}

/**
 * A count decayed to `now` from the value `count` it had at `at`; if `now` is before
 * `at` (a late event) the count is read as it stands rather than grown.
 */
export function decayed(count: number, at: number, now: number, halfLifeMs: number): number {
  return count * decayFactor(now - at, halfLifeMs);
}

/**
 * The decayed exposure, in ms, of a stream observed continuously since `since`: the
 * integral of 2^(-(now-s)/h) ds from since to now. With a decayed event count it gives a
 * decayed rate (count / exposure) that forgets old behaviour at the same speed as the count.
 */
export function decayedExposure(since: number, now: number, halfLifeMs: number): number {
  const span = now - since;
  if (span <= 0) return 0;
  return (halfLifeMs / Math.LN2) * (1 - Math.pow(2, -span / halfLifeMs));
}
