import { detectCards } from './detectors/card.js';
import { scanDigitRuns, type DigitRun } from './digit-runs.js';
import { detectCloudKeys } from './detectors/cloud-keys.js';
import { detectEmails } from './detectors/email.js';
import { detectIbans } from './detectors/iban.js';
import { detectJwts } from './detectors/jwt.js';
import { detectPhones } from './detectors/phone.js';
import { detectPrivateKeys } from './detectors/private-key.js';
import { detectSsns } from './detectors/ssn.js';
import { DETECTORS, type Detector, type DetectorName, type ScanContext, type Span } from './types.js';

/** One pass over the text collecting what the scanners' cheap preconditions need. */
interface Profile {
  digits: number;
  dots: number;
  at: boolean;
}

function profile(text: string): Profile {
  let digits = 0;
  let dots = 0;
  let at = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46) dots++;
    else if (c === 64) at = true;
  }
  return { digits, dots, at };
}

interface Registered {
  /** The detector names this scanner can emit; it runs if any of them is enabled. */
  emits: readonly DetectorName[];
  run: Detector;
  /** A cheap test that rules the scanner out for most cells. */
  worth: (text: string, p: Profile) => boolean;
}

const REGISTRY: readonly Registered[] = [
  { emits: ['private_key'], run: detectPrivateKeys, worth: (t) => t.length >= 40 },
  { emits: ['jwt'], run: detectJwts, worth: (t, p) => t.length >= 16 && p.dots >= 2 },
  { emits: ['aws_key', 'aws_secret', 'gcp_key', 'azure_key', 'github_token', 'slack_token'], run: detectCloudKeys, worth: (t) => t.length >= 16 },
  { emits: ['card'], run: detectCards, worth: (_t, p) => p.digits >= 13 },
  // Every registered BBAN holds digits; the two check digits alone make two.
  { emits: ['iban'], run: detectIbans, worth: (t, p) => t.length >= 15 && p.digits >= 2 },
  { emits: ['ssn'], run: detectSsns, worth: (_t, p) => p.digits >= 9 },
  { emits: ['phone'], run: detectPhones, worth: (_t, p) => p.digits >= 7 },
  { emits: ['email'], run: detectEmails, worth: (_t, p) => p.at },
];

/** Lower rank wins an overlap: a key block beats the email inside its comment, a card beats a phone. */
const RANK: Readonly<Record<DetectorName, number>> = Object.fromEntries(DETECTORS.map((d, i) => [d, i])) as Record<DetectorName, number>;

export interface DetectOptions {
  /** Column name or JSON key the text came from (enables context-only forms, e.g. a bare 9-digit SSN). */
  hint?: string | undefined;
  /** Detectors to run; all when absent. */
  enabled?: ReadonlySet<DetectorName> | undefined;
}

/**
 * Every sensitive value in `text`, as non-overlapping spans sorted by start. Each
 * scanner is linear in the text; overlaps between scanners are settled by rank, then
 * by length.
 */
export function detect(text: string, options: DetectOptions = {}): Span[] {
  if (text.length < 5) return [];
  let runs: DigitRun[] | undefined;
  const ctx: ScanContext = { text, hint: options.hint, runs: () => (runs ??= scanDigitRuns(text)) };
  const p = profile(text);
  const enabled = options.enabled;
  const all: Span[] = [];
  for (const r of REGISTRY) {
    if (enabled && !r.emits.some((d) => enabled.has(d))) continue;
    if (!r.worth(text, p)) continue;
    for (const s of r.run(ctx)) if (!enabled || enabled.has(s.detector)) all.push(s);
  }
  return settleOverlaps(all);
}

function beats(a: Span, b: Span): boolean {
  const ra = RANK[a.detector];
  const rb = RANK[b.detector];
  return ra !== rb ? ra < rb : a.end - a.start > b.end - b.start;
}

export function settleOverlaps(spans: Span[]): Span[] {
  if (spans.length <= 1) return spans;
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (!last || s.start >= last.end) out.push(s);
    else if (beats(s, last)) out[out.length - 1] = s;
  }
  return out;
}
