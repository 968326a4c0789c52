import { detectCards } from './detectors/card.js';
import { detectCloudKeys } from './detectors/cloud-keys.js';
import { detectEmails } from './detectors/email.js';
import { detectIbans } from './detectors/iban.js';
import { detectJwts } from './detectors/jwt.js';
import { detectPhones } from './detectors/phone.js';
import { detectPrivateKeys } from './detectors/private-key.js';
import { detectSsns } from './detectors/ssn.js';
import { DETECTORS, type Detector, type DetectorName, type ScanContext, type Span } from './types.js';

interface Registered {
  /** The detector names this scanner can emit; it runs if any of them is enabled. */
  emits: readonly DetectorName[];
  run: Detector;
  /** A cheap test that rules the scanner out for most cells. */
  worth: (text: string) => boolean;
}

const hasDigits = (min: number) => (t: string) => {
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++n >= min) return true;
  }
  return false;
};

const REGISTRY: readonly Registered[] = [
  { emits: ['private_key'], run: detectPrivateKeys, worth: (t) => t.length >= 40 },
  { emits: ['jwt'], run: detectJwts, worth: (t) => t.length >= 16 && t.includes('.') },
  { emits: ['aws_key', 'aws_secret', 'gcp_key', 'azure_key', 'github_token', 'slack_token'], run: detectCloudKeys, worth: (t) => t.length >= 16 },
  { emits: ['card'], run: detectCards, worth: hasDigits(13) },
  { emits: ['iban'], run: detectIbans, worth: (t) => t.length >= 15 },
  { emits: ['ssn'], run: detectSsns, worth: hasDigits(9) },
  { emits: ['phone'], run: detectPhones, worth: hasDigits(7) },
  { emits: ['email'], run: detectEmails, worth: (t) => t.includes('@') },
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
  const ctx: ScanContext = { text, hint: options.hint };
  const enabled = options.enabled;
  const all: Span[] = [];
  for (const r of REGISTRY) {
    if (enabled && !r.emits.some((d) => enabled.has(d))) continue;
    if (!r.worth(text)) continue;
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
