import { describe, expect, it } from 'vitest';
import { detect, type DetectorName } from '../src/index.js';
import { groupCard, groupIban, IBAN_COUNTRIES, ibanBadCheck, invalidSsn, luhnInvalid, makeJwt, Rng, validCard, validIban, validSsn } from './fixtures/generate.js';

/** The substrings a detector claims in `text`. */
function found(text: string, detector: DetectorName, hint?: string): string[] {
  return detect(text, { hint })
    .filter((s) => s.detector === detector)
    .map((s) => text.slice(s.start, s.end));
}

describe('card', () => {
  const rng = new Rng(7);
  it('finds Luhn-valid cards from issuer ranges, compact and grouped with any separator', () => {
    for (let i = 0; i < 300; i++) {
      const card = validCard(rng);
      const sep = rng.pick(['', ' ', '-', '.']);
      const written = sep ? groupCard(card, sep) : card;
      expect(found(`card: ${written} exp 12/29`, 'card'), written).toEqual([written]);
    }
  });

  it('ignores the same numbers with a wrong check digit', () => {
    for (let i = 0; i < 300; i++) {
      const bad = luhnInvalid(rng, validCard(rng));
      expect(found(`card ${bad} and`, 'card'), bad).toEqual([]);
      // Grouped 19-digit numbers are left out here: their first 16 digits may form a valid
      // card on their own, which the detector masks by design (card followed by a CVV).
      if (bad.length < 19) expect(found(`card ${groupCard(bad, ' ')} and`, 'card'), bad).toEqual([]);
    }
  });

  it('ignores Luhn-valid numbers outside issuer ranges and of impossible lengths', () => {
    for (let i = 0; i < 200; i++) {
      // 1, 7 and 9 start no card; 12 and 20 digits are not card lengths.
      const body = rng.pick(['1', '7', '9']) + rng.digits(14);
      let check = 0;
      while (!/.+/.test(String(check)) || !luhnOk(body + check)) check++;
      expect(found(`ref ${body}${check}`, 'card')).toEqual([]);
    }
    const short = validCard(new Rng(3)).slice(0, 12);
    expect(found(short, 'card')).toEqual([]);
  });

  it('splits aggregated cards (string_agg with commas, spaces, semicolons)', () => {
    for (let i = 0; i < 50; i++) {
      const cards = [validCard(rng), validCard(rng), validCard(rng)];
      const sep = rng.pick([',', ', ', ' ', ';', ' | ']);
      const grouped = rng.next() < 0.5;
      const parts = cards.map((c) => (grouped ? groupCard(c, rng.pick([' ', '-'])) : c));
      expect(found(parts.join(sep), 'card')).toEqual(parts);
    }
  });

  it('masks a card followed by its CVV in the same run', () => {
    let digits = validCard(rng);
    while (digits.length !== 16) digits = validCard(rng);
    const card = groupCard(digits, ' ');
    expect(found(`${card} 123`, 'card')).toEqual([card]);
  });

  it('does not claim digits glued to letters (hex ids, hashes)', () => {
    const card = validCard(rng);
    expect(found(`id_a${card}f`, 'card')).toEqual([]);
  });
});

function luhnOk(s: string): boolean {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    let d = Number(s[s.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

describe('iban', () => {
  const rng = new Rng(11);
  it('finds mod-97-valid IBANs across countries, compact, in groups of four, lower case', () => {
    for (const country of IBAN_COUNTRIES) {
      for (let i = 0; i < 20; i++) {
        const iban = validIban(rng, country);
        const form = rng.pick([iban, groupIban(iban), iban.toLowerCase()]);
        expect(found(`pay to ${form}, thanks`, 'iban'), form).toEqual([form]);
      }
    }
  });

  it('rejects wrong check digits, wrong lengths and unknown countries', () => {
    for (const country of IBAN_COUNTRIES) {
      const iban = validIban(rng, country);
      expect(found(ibanBadCheck(iban), 'iban')).toEqual([]);
      expect(found(iban + '7', 'iban')).toEqual([]);
      expect(found(iban.slice(0, -1), 'iban')).toEqual([]);
      expect(found('QQ' + iban.slice(2), 'iban')).toEqual([]);
    }
  });

  it('wins over a card-shaped window inside its digits', () => {
    // Search for an IBAN whose grouped digits contain a Luhn-valid, issuer-range 16-digit window.
    for (let i = 0; i < 5000; i++) {
      const iban = validIban(rng, 'DE');
      const grouped = groupIban(iban);
      if (detect(grouped.slice(5), {}).some((s) => s.detector === 'card')) {
        expect(found(grouped, 'iban')).toEqual([grouped]);
        expect(found(grouped, 'card')).toEqual([]);
        return;
      }
    }
    expect.unreachable('no IBAN with a card-shaped window in 5000 draws');
  });

  it('splits aggregated IBANs', () => {
    const a = validIban(rng, 'DE');
    const b = groupIban(validIban(rng, 'FR'));
    expect(found(`${a};${b}`, 'iban')).toEqual([a, b]);
  });
});

describe('ssn', () => {
  const rng = new Rng(13);
  const dashed = (d: string, sep = '-') => `${d.slice(0, 3)}${sep}${d.slice(3, 5)}${sep}${d.slice(5)}`;

  it('finds valid SSNs written AAA-GG-SSSS or AAA GG SSSS anywhere', () => {
    for (let i = 0; i < 300; i++) {
      const s = dashed(validSsn(rng), rng.pick(['-', ' ']));
      expect(found(`holder ${s}.`, 'ssn'), s).toEqual([s]);
    }
  });

  it('rejects area 000/666/9xx, group 00 and serial 0000', () => {
    for (let i = 0; i < 300; i++) {
      const s = dashed(invalidSsn(rng));
      expect(found(`holder ${s}`, 'ssn'), s).toEqual([]);
    }
  });

  it('takes a bare 9-digit run only with context: a keyword before it or an SSN-like column', () => {
    for (let i = 0; i < 100; i++) {
      const d = validSsn(rng);
      expect(found(`order ${d} shipped`, 'ssn')).toEqual([]);
      expect(found(`SSN: ${d}`, 'ssn')).toEqual([d]);
      expect(found(`social security number ${d}`, 'ssn')).toEqual([d]);
      expect(found(d, 'ssn', 'customer_ssn')).toEqual([d]);
      expect(found(d, 'ssn', 'order_id')).toEqual([]);
    }
  });

  it('does not take 3-2-4 groups out of a longer dashed number', () => {
    const d = validSsn(rng);
    expect(found(`1-${dashed(d)}-2`, 'ssn')).toEqual([]);
  });

  it('splits aggregated SSNs', () => {
    const a = dashed(validSsn(rng));
    const b = dashed(validSsn(rng));
    const c = dashed(validSsn(rng), ' ');
    expect(found(`${a} ${b}, ${c}`, 'ssn')).toEqual([a, b, c]);
  });
});

describe('email', () => {
  const rng = new Rng(17);
  it('finds addresses in text and aggregates', () => {
    for (let i = 0; i < 100; i++) {
      const a = `${rng.alnum(6, 'abcdefghij')}.${rng.alnum(3, 'xyz0123')}+tag@${rng.alnum(5, 'klmnop')}.example.${rng.pick(['com', 'io', 'co.uk'])}`;
      const b = `${rng.alnum(4, 'qrstu')}@${rng.alnum(4, 'vwxyz')}.org`;
      expect(found(`contact <${a}>, ${b}.`, 'email')).toEqual([a, b]);
    }
  });

  it('leaves the quotes of a SQL or CSV value outside the address, and keeps an apostrophe inside one', () => {
    expect(found(`WHERE email = 'ann.lee@example.com' OR x = 'o''neil@example.org'`, 'email')).toEqual(['ann.lee@example.com', "o''neil@example.org"]);
    expect(found(`'bob@example.net','carol@example.net'`, 'email')).toEqual(['bob@example.net', 'carol@example.net']);
  });

  it('ignores non-addresses', () => {
    for (const t of ['a@b', 'user@localhost', '@handle', 'x@.com', 'x@-a.com', 'price @ 5.00', 'me@host.c0m']) expect(found(t, 'email'), t).toEqual([]);
  });
});

describe('phone', () => {
  const rng = new Rng(19);
  it('finds E.164 numbers written compact or grouped', () => {
    for (let i = 0; i < 100; i++) {
      const cc = String(rng.int(1, 99));
      const national = String(rng.int(1, 9)) + rng.digits(rng.int(7, 12 - cc.length));
      const grouped = national.match(/.{1,3}/g)!.join(rng.pick([' ', '-', '.']));
      const form = rng.pick([`+${cc}${national}`, `+${cc} ${grouped}`]);
      expect(found(`call ${form} now`, 'phone'), form).toEqual([form]);
    }
  });

  it('finds North American numbers with separators and (area) codes', () => {
    for (let i = 0; i < 100; i++) {
      const area = `${rng.int(2, 9)}${rng.int(0, 9)}${rng.int(2, 9)}`;
      const exch = `${rng.int(2, 9)}${rng.digits(2)}`;
      const line = rng.digits(4);
      const sep = rng.pick(['-', '.', ' ']);
      const form = rng.pick([`${area}${sep}${exch}${sep}${line}`, `(${area}) ${exch}-${line}`, `1-${area}-${exch}-${line}`]);
      expect(found(`reach me at ${form}`, 'phone'), form).toEqual([form]);
    }
  });

  it('is conservative: bare digit runs, dates and amounts are not phones without context', () => {
    for (let i = 0; i < 100; i++) {
      const bare = String(rng.int(2, 9)) + rng.digits(9);
      expect(found(`order ${bare}`, 'phone')).toEqual([]);
      expect(found(`phone: ${bare}`, 'phone')).toEqual([bare]);
      expect(found(bare, 'phone', 'mobile_number')).toEqual([bare]);
    }
    for (const t of ['2024-01-15 10:30:00', 'total 1,234,567.89', 'v1.2.3.4', '192.168.100.200', '+1 23', 'id 123-123-1234'.replace('123-123', '123-023')]) {
      expect(found(t, 'phone'), t).toEqual([]);
    }
  });
});

describe('jwt', () => {
  const rng = new Rng(23);
  it('finds JWS tokens whose header is base64url JSON with alg, also inside Bearer headers and aggregates', () => {
    for (let i = 0; i < 50; i++) {
      const a = makeJwt(rng);
      const b = makeJwt(rng);
      expect(found(`Authorization: Bearer ${a}`, 'jwt')).toEqual([a]);
      expect(found(`${a},${b}`, 'jwt')).toEqual([a, b]);
    }
  });

  it('finds unsecured tokens (alg none, empty signature) and five-part JWE', () => {
    const none = makeJwt(rng, 'none').replace(/\.[^.]+$/, '.');
    expect(found(`t=${none} `, 'jwt')).toEqual([none]);
    const h = Buffer.from(JSON.stringify({ alg: 'RSA-OAEP', enc: 'A256GCM' })).toString('base64url');
    const jwe = [h, rng.alnum(40), rng.alnum(16), rng.alnum(60), rng.alnum(22)].join('.');
    expect(found(jwe, 'jwt')).toEqual([jwe]);
  });

  it('ignores dotted base64url that is not a JOSE header', () => {
    const noAlg = Buffer.from(JSON.stringify({ typ: 'JWT' })).toString('base64url');
    const notJson = Buffer.from('eyJ not json at all').toString('base64url');
    for (const t of [`${noAlg}.abc.def`, `${notJson}.abcdef.ghijkl`, 'www.example.com.au', 'eyJhbGciOiJIUzI1NiJ9.only-two', 'a.b.c']) expect(found(t, 'jwt'), t).toEqual([]);
  });
});

describe('cloud keys and private keys', () => {
  const rng = new Rng(29);
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

  it('AWS access key ids (AKIA/ASIA + 16) and a named secret', () => {
    for (let i = 0; i < 20; i++) {
      const id = rng.pick(['AKIA', 'ASIA']) + rng.alnum(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');
      expect(found(`key=${id} `, 'aws_key')).toEqual([id]);
      expect(found(`key=${id}X`, 'aws_key')).toEqual([]);
      const secret = rng.alnum(40, B64);
      expect(found(`aws_secret_access_key = ${secret}\n`, 'aws_secret')).toEqual([secret]);
    }
  });

  it('Azure connection strings, GitHub and Slack tokens', () => {
    const accountKey = rng.alnum(86, B64) + '==';
    expect(found(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${accountKey};EndpointSuffix=core.windows.net`, 'azure_key')).toEqual([accountKey]);
    for (const p of ['ghp_', 'gho_', 'ghs_']) {
      const t = p + rng.alnum(36, ALNUM);
      expect(found(`token ${t}`, 'github_token')).toEqual([t]);
      expect(found(`token ${p}${rng.alnum(20, ALNUM)}`, 'github_token')).toEqual([]);
    }
    const pat = `github_pat_${rng.alnum(22, ALNUM)}_${rng.alnum(59, ALNUM)}`;
    expect(found(pat, 'github_token')).toEqual([pat]);
    const slack = `xoxb-${rng.digits(12)}-${rng.digits(12)}-${rng.alnum(24, ALNUM)}`;
    expect(found(`SLACK=${slack}`, 'slack_token')).toEqual([slack]);
  });

  it('GCP service-account JSON: key id and the private_key value with escaped newlines', () => {
    const body = rng.alnum(64, B64);
    const keyId = rng.alnum(40, '0123456789abcdef');
    const json = JSON.stringify({ type: 'service_account', private_key_id: keyId, private_key: `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n` });
    const spans = detect(json);
    const masked = spans.map((s) => json.slice(s.start, s.end)).join(' ');
    expect(masked).toContain(keyId);
    expect(masked).toContain(body);
    expect(spans.map((s) => s.detector).sort()).toEqual(['gcp_key', 'private_key']);
  });

  it('PEM blocks of any key type, and a BEGIN with no END masks to the end', () => {
    for (const kind of ['', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED ']) {
      const block = `-----BEGIN ${kind}PRIVATE KEY-----\n${rng.alnum(64, B64)}\n${rng.alnum(30, B64)}\n-----END ${kind}PRIVATE KEY-----`;
      expect(found(`key:\n${block}\nafter`, 'private_key')).toEqual([block]);
    }
    const truncated = `-----BEGIN RSA PRIVATE KEY-----\n${rng.alnum(64, B64)}`;
    expect(found(`x ${truncated}`, 'private_key')).toEqual([truncated]);
    expect(found('-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----', 'private_key')).toEqual([]);
  });
});

describe('spans', () => {
  it('are sorted, non-overlapping, and a higher-ranked detector wins an overlap', () => {
    const rng = new Rng(31);
    const card = validCard(rng);
    const text = `${card} a@b.io ${makeJwt(rng)} +4420794609580`;
    const spans = detect(text);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    expect(spans.map((s) => s.detector)).toEqual(['card', 'email', 'jwt', 'phone']);
  });

  it('respects the enabled set', () => {
    const text = 'mail a@b.io';
    expect(detect(text, { enabled: new Set(['card']) })).toEqual([]);
  });
});
