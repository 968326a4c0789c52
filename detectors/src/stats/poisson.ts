/**
 * Poisson tails for small counts (runs per hour, not millions). Summed in log space from
 * the side that is small, so tails far below 1e-10 keep their precision.
 */
function logPmf(k: number, mu: number): number {
  if (mu <= 0) return k === 0 ? 0 : -Infinity;
  return k * Math.log(mu) - mu - logFactorial(k);
}

function logFactorial(k: number): number {
  let s = 0;
  for (let i = 2; i <= k; i++) s += Math.log(i);
  return s;
}

/** P(X ≥ k) for X ~ Poisson(mu). */
export function poissonUpper(k: number, mu: number): number {
  if (k <= 0) return 1;
  if (mu <= 0) return 0;
  if (k > mu) {
    // Terms fall from k upward: sum until they stop mattering.
    let term = Math.exp(logPmf(k, mu));
    let sum = 0;
    for (let i = k; term > sum * 1e-16 && i < k + 1000; i++) {
      sum += term;
      term *= mu / (i + 1);
    }
    return Math.min(1, sum);
  }
  return Math.max(0, 1 - poissonLower(k - 1, mu));
}

/** P(X ≤ k) for X ~ Poisson(mu). */
export function poissonLower(k: number, mu: number): number {
  if (k < 0) return 0;
  if (mu <= 0) return 1;
  let term = Math.exp(-mu);
  let sum = term;
  for (let i = 1; i <= k; i++) {
    term *= mu / i;
    sum += term;
  }
  return Math.min(1, sum);
}
