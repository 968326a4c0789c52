import { describe, it, expect } from 'vitest';
import { scrub, urlFacts } from '../src/targets/url-facts.js';
import { targetError } from '../src/targets/postgres-errors.js';
import { validateCommand } from '../src/exec/validate.js';
import { accessFor } from '../src/grants/grants.js';
import { commandTag } from '../src/targets/postgres-types.js';

describe('urlFacts and scrub', () => {
  it('says host:port and db, and lists user, password and host as sensitive', () => {
    const f = urlFacts('postgres://app%40corp:s3cr%3At@db.internal:6543/orders?sslmode=require');
    expect(f.hostPort).toBe('db.internal:6543');
    expect(f.database).toBe('orders');
    const msg = scrub('password authentication failed for user "app@corp" at db.internal with s3cr:t', f.sensitive);
    expect(msg).not.toMatch(/app@corp|s3cr:t|db\.internal/);
  });

  it('defaults the port and reads a socket host', () => {
    expect(urlFacts('postgresql://u@localhost/d?host=%2Fvar%2Frun%2Fpostgresql').hostPort).toBe('/var/run/postgresql:5432');
    // What URL cannot parse is described as nothing and scrubbed whole.
    expect(urlFacts('postgresql://u:pw@/d')).toEqual({ hostPort: '', database: '', sensitive: ['postgresql://u:pw@/d'] });
    expect(urlFacts('postgres://u:p@h/d').hostPort).toBe('h:5432');
  });
});

describe('targetError', () => {
  const sensitive = urlFacts('postgres://admin:canary-pw@10.9.8.7:5432/x').sensitive;

  it('keeps the SQLSTATE and scrubs the message', () => {
    const e = targetError('c', { code: '42P01', message: 'relation "canary-pw" does not exist', severity: 'ERROR' }, sensitive);
    expect(e.code).toBe('PCX_TARGET_ERROR');
    expect(e.message).toBe('SQLSTATE 42P01: relation "[redacted]" does not exist');
    expect(e.context['sqlstate']).toBe('42P01');
  });

  it('turns network failures and refused gateway credentials into TARGET_UNAVAILABLE with our own message', () => {
    expect(targetError('c', Object.assign(new Error('connect ECONNREFUSED 10.9.8.7:5432'), { code: 'ECONNREFUSED' }), sensitive)).toMatchObject({
      code: 'PCX_TARGET_UNAVAILABLE',
      message: 'target c is unavailable',
    });
    const auth = targetError('c', { code: '28P01', message: 'password authentication failed for user "admin"' }, sensitive);
    expect(auth.code).toBe('PCX_TARGET_UNAVAILABLE');
    expect(auth.message).not.toContain('admin');
    expect(targetError('c', { code: '08P01', message: 'bind message supplies 1 parameters' }, sensitive).code).toBe('PCX_TARGET_ERROR');
  });
});

describe('validateCommand', () => {
  it('refuses oversize, empty and NUL-bearing commands', () => {
    expect(() => validateCommand('c', 'x'.repeat(11), 10)).toThrow(expect.objectContaining({ code: 'PCX_PAYLOAD_TOO_LARGE' }));
    expect(() => validateCommand('c', '  ', 10)).toThrow(expect.objectContaining({ code: 'PCX_BAD_REQUEST' }));
    expect(() => validateCommand('c', 'a\0b', 10)).toThrow(expect.objectContaining({ code: 'PCX_BAD_REQUEST' }));
    expect(() => validateCommand('', 'select 1', 10)).toThrow(expect.objectContaining({ code: 'PCX_BAD_REQUEST' }));
    expect(() => validateCommand('c', 'select 1', 10)).not.toThrow();
  });
});

describe('accessFor', () => {
  const id = { subject: 'a', kind: 'agent' as const, groups: ['etl'], credentialId: 't', issuer: 'i' };
  it('takes the strongest matching grant, none when nothing matches, and none when there are no grants (default deny)', () => {
    expect(accessFor(id, [{ subject: 'a', access: 'read' }, { group: 'etl', access: 'write' }])).toBe('write');
    expect(accessFor(id, [{ subject: 'b', access: 'admin' }])).toBeUndefined();
    expect(accessFor(id, [])).toBeUndefined();
  });
});

describe('commandTag', () => {
  it('formats like psql', () => {
    expect(commandTag('INSERT', 1)).toBe('INSERT 0 1');
    expect(commandTag('SELECT', 3)).toBe('SELECT 3');
    expect(commandTag('CREATE', null)).toBe('CREATE');
  });
});
