import { describe, expect, it } from 'vitest';
import { createRowMasker, detect } from '../src/index.js';

/**
 * Inputs built to make a backtracking or rescanning detector quadratic. Each is about
 * 1 MB; a linear scanner finishes each in well under a second, a quadratic one would
 * need hours. The timeout is generous so a loaded CI machine does not fail a linear scan;
 * no timing is asserted beyond that.
 */
const TIMEOUT_MS = 60_000;
const MB = 1 << 20;
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

const ADVERSARIAL: ReadonlyArray<[string, string]> = [
  ['single-digit groups', fill('4 ')],
  ['one huge digit run', fill('4')],
  ['dashed SSN-like chains', fill('123-45-')],
  ['ats without domains', fill('a@')],
  ['long local parts, one @', fill('a.') + '@'],
  ['@ then a long domain-ish run', '@' + fill('a-')],
  ['many emails-to-be', fill('x@y.')],
  ['JWT-ish headers without parts', fill('eyJ.')],
  ['valid JOSE header, no payloads', fill('eyJhbGciOiJub25lIn0.')],
  ['one giant base64url part', 'eyJ' + fill('A') + '.x.y'],
  ['BEGIN without END', fill('-----BEGIN RSA PRIVATE KEY-----')],
  ['END without BEGIN', fill('-----END PRIVATE KEY-----')],
  ['unterminated GCP private_key values', fill('"private_key": "')],
  ['IBAN prefixes', fill('DE89 ')],
  ['IBAN prefixes glued', fill('DE89')],
  ['plus signs', fill('+1 ')],
  ['parenthesised areas', fill('(555) ')],
  ['AWS-ish prefixes', fill('AKIA')],
  ['GitHub-ish prefixes', fill('ghp_a')],
  ['Slack-ish prefixes', fill('xoxb-')],
  ['Azure keys without end', 'AccountKey=' + fill('A')],
  ['keyword then digits', fill('ssn 1 ')],
  ['mixed soup', fill('ssn: 123-45-6789 a@b.co +44 20 7946 0958 eyJ.x. DE89 3704 4111 1111 ')],
];

describe('1 MB adversarial inputs', () => {
  it.each(ADVERSARIAL)('%s: returns, with well-formed spans', { timeout: TIMEOUT_MS }, (_name, text) => {
    expect(text.length).toBeGreaterThanOrEqual(MB);
    const spans = detect(text);
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      expect(s.start).toBeLessThan(s.end);
      expect(s.end).toBeLessThanOrEqual(text.length);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    }
  });

  it('a 1 MB cell goes through the row masker', { timeout: TIMEOUT_MS }, () => {
    const m = createRowMasker({ columns: ['blob'], rules: {} });
    const [out] = m.maskRow([fill('4111 1111 1111 1111 ')]);
    expect(String(out)).not.toContain('4111 1111 1111 1111');
    expect(m.summary().piiCounts.card).toBe(Math.floor(MB / 20));
  });
});
