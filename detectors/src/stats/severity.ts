import type { SeverityName } from '../scorer.js';

const RANK: Record<SeverityName, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4, fatal: 5 };

export function severityRank(s: SeverityName): number {
  return RANK[s];
}

export function atLeast(s: SeverityName, floor: SeverityName): boolean {
  return RANK[s] >= RANK[floor];
}

export function maxSeverity(a: SeverityName, b: SeverityName): SeverityName {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Escapes `|` and `%` so caller-controlled parts cannot forge a composite key. */
export function escapeKeyPart(s: string): string {
  return s.includes('|') || s.includes('%') ? s.replace(/%/g, '%25').replace(/\|/g, '%7C') : s;
}
