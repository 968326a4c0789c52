import type { DigitRun } from './digit-runs.js';

/**
 * The vocabulary shared by detectors, rules and the row masker. Detector names are the
 * keys of `piiCounts` in a RESPONSE event, so they are stable strings, not enum numbers.
 */
/** In rank order: when spans of two detectors overlap, the earlier one here wins. */
export const DETECTORS = [
  'private_key',
  'jwt',
  'aws_key',
  'aws_secret',
  'gcp_key',
  'azure_key',
  'github_token',
  'slack_token',
  // An IBAN is checked over its whole length (mod 97); a Luhn-valid card-shaped window
  // inside its digits is a coincidence, so the IBAN wins the overlap.
  'iban',
  'card',
  'ssn',
  'phone',
  'email',
] as const;

export type DetectorName = (typeof DETECTORS)[number];

/** A half-open range [start, end) of UTF-16 code units in the scanned string. */
export interface Span {
  start: number;
  end: number;
  detector: DetectorName;
}

/** What a detector may know besides the text: the column or JSON key the text came from. */
export interface ScanContext {
  readonly text: string;
  /** Output column name or JSON key; lets context-dependent detectors (bare 9-digit SSN) fire. */
  readonly hint?: string | undefined;
  /** The text's digit runs, scanned once on first use and shared by card, SSN and phone. */
  runs(): readonly DigitRun[];
}

export type Detector = (ctx: ScanContext) => Span[];

export function isDetectorName(s: string): s is DetectorName {
  return (DETECTORS as readonly string[]).includes(s);
}
