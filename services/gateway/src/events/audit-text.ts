import { DETECTORS, maskText, type DetectorName, type MaskAction } from '@portcullis/masking';

/**
 * The command as events — and through them Kafka, the detectors and ClickHouse — keep it.
 * The caller's text can carry what must not leave the gateway: PII in a literal
 * (`INSERT … VALUES ('4111 1111 1111 1111')`), a credential (`ALTER ROLE … PASSWORD '…'`,
 * a bearer token pasted into a comment), or megabytes of data. So:
 *  - a statement that sets a credential keeps only its fingerprint (every literal `?`):
 *    a password has no shape a detector could recognise;
 *  - any other text has every value a masking detector recognises redacted, wherever it
 *    is (literal, comment, identifier);
 *  - the result is capped at `maxBytes` on a character boundary and says how much was cut.
 * The fingerprint, tables and flags beside it are untouched, so detectors lose nothing.
 */
export interface AuditTextFacts {
  readonly fingerprint: string;
  readonly riskTags: readonly string[];
}

const REDACT_ALL: ReadonlyMap<DetectorName, MaskAction> = new Map(DETECTORS.map((d) => [d, { kind: 'redact' } as const]));

/** Tags that mean the statement itself carries a credential. */
const CREDENTIAL_TAGS: ReadonlySet<string> = new Set(['password_change']);

export function auditText(command: string, facts: AuditTextFacts, maxBytes: number): string {
  const text = facts.riskTags.some((t) => CREDENTIAL_TAGS.has(t)) ? facts.fingerprint : redactSensitive(command);
  return capUtf8(text, maxBytes);
}

/**
 * Free text (a target's error message can quote a value: `invalid input syntax …: "4111…"`)
 * with every value a masking detector recognises redacted, for events and logs.
 */
export function redactSensitive(text: string): string {
  return maskText(text, { actions: REDACT_ALL }).text;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes (marker included), never inside a character. */
export function capUtf8(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: short texts need no measuring.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const marker = (cut: number) => `…[${cut} more bytes]`;
  // A cap too small for the marker gets the bare cut.
  const room = Buffer.byteLength(marker(bytes.length)) <= maxBytes;
  let end = room ? maxBytes - Buffer.byteLength(marker(bytes.length)) : maxBytes;
  // Step back off UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8') + (room ? marker(bytes.length - end) : '');
}
