import { describe, expect, it } from 'vitest';
import { generateServiceToken, hashServiceToken, ServiceTokenStore, SERVICE_TOKEN_ISSUER } from '../src/index.js';
import { expectAuthError } from './fixtures/expect-auth.js';

describe('service tokens', () => {
  it('are pcx_ + 32 random bytes in base64url, hashed with SHA-256', () => {
    const a = generateServiceToken();
    const b = generateServiceToken();
    expect(a.token).toMatch(/^pcx_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.sha256).toBe(hashServiceToken(a.token));
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies a configured token into its identity', () => {
    const t = generateServiceToken();
    const store = new ServiceTokenStore([{ id: 'ci-bot', subject: 'ci', kind: 'service', groups: ['deploy'], sha256: t.sha256 }]);
    expect(store.verify(t.token)).toEqual({ subject: 'ci', kind: 'service', groups: ['deploy'], credentialId: 'ci-bot', issuer: SERVICE_TOKEN_ISSUER });
  });

  it('resolves a token given by reference and keeps only its hash', () => {
    const t = generateServiceToken();
    const store = new ServiceTokenStore([{ id: 'a', subject: 'agent-a', token: '${env:A_TOKEN}' }], { env: { A_TOKEN: t.token } });
    expect(store.verify(t.token)).toMatchObject({ subject: 'agent-a', kind: 'agent', credentialId: 'a' });
  });

  it('rejects a wrong token without echoing it', async () => {
    const good = generateServiceToken();
    const store = new ServiceTokenStore([{ id: 'a', subject: 'x', sha256: good.sha256 }]);
    const wrong = generateServiceToken().token;
    await expectAuthError(Promise.resolve().then(() => store.verify(wrong)), 'PCX_AUTH_INVALID', /not valid/, wrong);
    // One character off is as wrong as any other.
    const near = good.token.slice(0, -1) + (good.token.endsWith('A') ? 'B' : 'A');
    expect(() => store.verify(near)).toThrow(/not valid/);
  });

  it('reload revokes a token at once and keeps others working', () => {
    const keep = generateServiceToken();
    const revoke = generateServiceToken();
    const store = new ServiceTokenStore([
      { id: 'keep', subject: 'k', sha256: keep.sha256 },
      { id: 'revoke', subject: 'r', sha256: revoke.sha256 },
    ]);
    expect(store.verify(revoke.token).subject).toBe('r');
    store.reload([{ id: 'keep', subject: 'k', sha256: keep.sha256 }]);
    expect(() => store.verify(revoke.token)).toThrow(/unknown or revoked/);
    expect(store.verify(keep.token).subject).toBe('k');
  });

  it('a bad reload changes nothing and names the key', () => {
    const t = generateServiceToken();
    const store = new ServiceTokenStore([{ id: 'a', subject: 'x', sha256: t.sha256 }]);
    expect(() => store.reload([{ id: 'b', subject: 'y', sha256: 'not-hex' }])).toThrow(/gateway\.tokens\.0\.sha256/);
    expect(() => store.reload([{ id: 'b', subject: 'y', token: 'pcx_inline' }])).toThrow(/by reference/);
    expect(() => store.reload([{ id: 'b', subject: 'y', sha256: t.sha256 }, { id: 'b', subject: 'z', sha256: generateServiceToken().sha256 }])).toThrow(/duplicate/);
    expect(store.verify(t.token).subject).toBe('x');
    expect(store.size).toBe(1);
  });
});
