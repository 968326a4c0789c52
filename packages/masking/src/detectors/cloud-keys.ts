import type { DetectorName, ScanContext, Span } from '../types.js';

/**
 * Cloud and SaaS credentials recognisable by their documented shape. Every pattern here
 * starts with a literal, has bounded quantifiers over one character class and nothing
 * nested, so V8's regex engine matches it in linear time.
 */
interface KeyPattern {
  detector: DetectorName;
  /** Cheap substring tests before running the regex: any one present. */
  markers: readonly string[];
  re: RegExp;
  /** Capture group holding the secret; 0 for the whole match. */
  group: number;
}

const PATTERNS: readonly KeyPattern[] = [
  // AWS access key ids: long-term (AKIA) and temporary STS (ASIA) keys, 16 base32-ish chars.
  { detector: 'aws_key', markers: ['AKIA', 'ASIA'], re: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g, group: 0 },
  // The secret half has no prefix of its own; it is recognisable only beside its name.
  {
    detector: 'aws_secret',
    // Lower and upper case cover the spellings seen in env files and configs.
    markers: ['ecret_access_key', 'ECRET_ACCESS_KEY', 'ecretAccessKey'],
    re: /aws_?secret_?access_?key["']?[ \t]{0,8}[:=][ \t]{0,8}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 1,
  },
  // Azure storage / Service Bus connection strings: the base64 key after AccountKey= or SharedAccessKey=.
  { detector: 'azure_key', markers: ['AccessKey='], re: /SharedAccessKey=([A-Za-z0-9+/]{20,200}={0,2})/g, group: 1 },
  { detector: 'azure_key', markers: ['AccountKey='], re: /AccountKey=([A-Za-z0-9+/]{20,200}={0,2})/g, group: 1 },
  // GitHub: classic/OAuth/user/server/refresh tokens and fine-grained PATs.
  { detector: 'github_token', markers: ['gho_', 'ghp_', 'ghu_', 'ghs_', 'ghr_'], re: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])/g, group: 0 },
  { detector: 'github_token', markers: ['github_pat_'], re: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9_])/g, group: 0 },
  // Slack bot/user/app/refresh/config tokens.
  { detector: 'slack_token', markers: ['xox'], re: /(?<![A-Za-z0-9])xox[abeoprs]-[A-Za-z0-9-]{10,250}/g, group: 0 },
  // GCP service-account JSON: the key id (40 hex) beside "private_key_id".
  { detector: 'gcp_key', markers: ['private_key_id'], re: /"private_key_id"[ \t\r\n]{0,8}:[ \t\r\n]{0,8}"([0-9a-f]{40})"/g, group: 1 },
];

export function detectCloudKeys(ctx: ScanContext): Span[] {
  const { text } = ctx;
  const out: Span[] = [];
  for (const p of PATTERNS) {
    if (!p.markers.some((m) => text.includes(m))) continue;
    for (const m of text.matchAll(p.re)) {
      const secret = m[p.group] as string;
      const start = m.index + (p.group === 0 ? 0 : m[0].lastIndexOf(secret));
      out.push({ start, end: start + secret.length, detector: p.detector });
    }
  }
  detectGcpPrivateKeyValues(text, out);
  return out;
}

const GCP_FIELD = '"private_key"';

/**
 * The value of a service-account JSON's "private_key" field, escaped newlines and all.
 * Scanned by hand: a regex for "a JSON string" would rescan to the end of the text for
 * each unterminated occurrence. A value with no closing quote (a truncated payload) is
 * masked to the end of the text, since a partial key is still a key.
 */
function detectGcpPrivateKeyValues(text: string, out: Span[]): void {
  let at = text.indexOf(GCP_FIELD);
  while (at !== -1) {
    let i = at + GCP_FIELD.length;
    while (i < text.length && /[ \t\r\n]/.test(text[i] as string)) i++;
    if (text[i] !== ':') {
      at = text.indexOf(GCP_FIELD, at + 1);
      continue;
    }
    i++;
    while (i < text.length && /[ \t\r\n]/.test(text[i] as string)) i++;
    if (text[i] !== '"') {
      at = text.indexOf(GCP_FIELD, at + 1);
      continue;
    }
    const start = i + 1;
    let j = start;
    while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
    const end = Math.min(j, text.length);
    if (end > start) out.push({ start, end, detector: 'gcp_key' });
    at = text.indexOf(GCP_FIELD, end);
  }
}
