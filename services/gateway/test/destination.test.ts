import { describe, it, expect } from 'vitest';
import { declaredDestination, MAX_DESTINATION_CHARS, normalizeDestination } from '../src/exec/destination.js';

describe('normalizeDestination', () => {
  it.each([
    // URLs: scheme://host[:port], lower-cased; user-info, path, query, fragment dropped.
    ['https://User:Pw@Exfil.Example.COM/upload?token=abc#frag', 'https://exfil.example.com'],
    ['HTTPS://exfil.example.com:8443/x', 'https://exfil.example.com:8443'],
    ['postgres://app:secret@DB.internal:5432/payroll?sslmode=require', 'postgres://db.internal:5432'],
    ['s3://My-Bucket/exports/2026/customers.csv', 's3://my-bucket'],
    ['kafka://broker-1.prod:9092', 'kafka://broker-1.prod:9092'],
    // The web origin's default ports are dropped, so these are one destination each.
    ['https://warehouse.example.com:443/', 'https://warehouse.example.com'],
    ['http://warehouse.example.com:80', 'http://warehouse.example.com'],
    ['wss://feed.example.com:443', 'wss://feed.example.com'],
    ['http://warehouse.example.com:443', 'http://warehouse.example.com:443'],
    ['http://x.example:/', 'http://x.example'],
    ['https://exfil.example.com./', 'https://exfil.example.com'],
    ['https://@exfil.example.com', 'https://exfil.example.com'],
    ['https://a@b@exfil.example.com', 'https://exfil.example.com'],
    ['http://10.0.0.7:8080/upload', 'http://10.0.0.7:8080'],
    ['https://[2001:DB8:0:0::1]:8443/p', 'https://[2001:db8::1]:8443'],
    ['https://Bücher.example/', 'https://xn--bcher-kva.example'],
    ['https://leading0.example:00443', 'https://leading0.example'],
    // Bare hosts: lower-cased, port kept.
    ['Warehouse', 'warehouse'],
    ['bi-dashboard:9000', 'bi-dashboard:9000'],
    ['my_host.internal', 'my_host.internal'],
    ['[::1]:9000', '[::1]:9000'],
    ['', ''],
  ])('%j → %j', (raw, expected) => {
    expect(normalizeDestination(raw)).toEqual({ ok: true, destination: expected });
  });

  it.each([
    ['x'.repeat(MAX_DESTINATION_CHARS + 1), /longer than 2048/],
    [`https://example.com/${'p'.repeat(MAX_DESTINATION_CHARS)}`, /longer than 2048/],
    ['https://exa mple.com', /whitespace or a control/],
    ['https://example.com\n', /whitespace or a control/],
    ['https://example.com\u0000', /whitespace or a control/],
    ['https://example.com\u0085', /whitespace or a control/],
    [' example.com', /whitespace or a control/],
    ['http://good.example\\@evil.example/', /backslash/],
    ['https://', /host is not a host name/],
    ['file:///etc/passwd', /host is not a host name/],
    ['https://exa%41mple.com', /host is not a host name/],
    ['https://-bad-.example', /host is not a host name/],
    ['https://a..b', /host is not a host name/],
    ['https://example.com:0', /port outside/],
    ['https://example.com:65536', /port outside/],
    ['https://example.com:x', /does not parse/],
    ['https://[zz::1]/', /host is not a host name/],
    ['host.example/upload?token=abc', /without a scheme/],
    ['user:pw@host.example', /without a scheme/],
    ['mailto:someone@example.com', /without a scheme/],
    ['a:b:c', /does not parse/],
    [`${'a'.repeat(64)}.example`, /host is not a host name/],
  ])('refuses %j', (raw, reason) => {
    const r = normalizeDestination(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('never quotes the input in a refusal', () => {
    for (const raw of ['user:hunter2@host.example', 'https://hunter2.example:99999', 'hunter2\tx', 'https://x/\u0001hunter2']) {
      const r = normalizeDestination(raw);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).not.toContain('hunter2');
    }
  });

  it('the normalised form is a fixed point', () => {
    for (const raw of ['https://User:Pw@Exfil.Example.COM:443/upload?token=abc', 'https://[2001:DB8::1]:8443', 'Bi-Dashboard:9000', 'https://Bücher.example']) {
      const once = normalizeDestination(raw);
      expect(once.ok).toBe(true);
      if (once.ok) expect(normalizeDestination(once.destination)).toEqual(once);
    }
  });
});

describe('declaredDestination', () => {
  it('the request field wins over the metadata, which is not checked then', () => {
    expect(declaredDestination('https://a.example/x', 'not a host')).toEqual({ ok: true, destination: 'https://a.example' });
  });
  it('falls back to the x-portcullis-destination metadata', () => {
    expect(declaredDestination('', 'B.example:7000')).toEqual({ ok: true, destination: 'b.example:7000' });
    expect(declaredDestination(undefined, undefined)).toEqual({ ok: true, destination: '' });
  });
  it('names the source of a refused value', () => {
    expect(declaredDestination('a b', undefined)).toEqual({ ok: false, reason: 'destination contains whitespace or a control character' });
    expect(declaredDestination('', 'a b')).toEqual({ ok: false, reason: 'x-portcullis-destination contains whitespace or a control character' });
  });
});
