import { describe, expect, it } from 'vitest';
import { bearerFromAuthorization, createAuthenticator, fromCallHeaders, generateServiceToken, identityConfigSchema, ServiceTokenStore } from '../src/index.js';
import { expectAuthError } from './fixtures/expect-auth.js';

describe('createAuthenticator routing', () => {
  it('no bearer → PCX_AUTH_MISSING', async () => {
    const auth = createAuthenticator({});
    await expectAuthError(auth.authenticate(undefined), 'PCX_AUTH_MISSING', /no bearer token/);
    await expectAuthError(auth.authenticate('   '), 'PCX_AUTH_MISSING', /no bearer token/);
  });

  it('pcx_ tokens go to the store: happy path, wrong token, revoked after reload', async () => {
    const t = generateServiceToken();
    const store = new ServiceTokenStore([{ id: 'demo', subject: 'demo-agent', sha256: t.sha256 }]);
    const auth = createAuthenticator({ serviceTokens: store });
    await expect(auth.authenticate(t.token)).resolves.toMatchObject({ subject: 'demo-agent', credentialId: 'demo' });
    const wrong = generateServiceToken().token;
    await expectAuthError(auth.authenticate(wrong), 'PCX_AUTH_INVALID', /service token is not valid/, wrong);
    store.reload([]);
    await expectAuthError(auth.authenticate(t.token), 'PCX_AUTH_INVALID', /unknown or revoked/, t.token);
  });

  it('anything neither pcx_ nor JWT-shaped is refused without echo', async () => {
    const auth = createAuthenticator({ serviceTokens: [] });
    const junk = 'sk-live-0123456789abcdef';
    await expectAuthError(auth.authenticate(junk), 'PCX_AUTH_INVALID', /unrecognised bearer token/, junk);
    await expectAuthError(auth.authenticate('a.b'), 'PCX_AUTH_INVALID', /unrecognised bearer token/);
  });

  it('unprefixed legacy service tokens only when asked for', async () => {
    const legacy = 'bravo-token-0123456789';
    const entries = [{ id: 'tok-b', subject: 'svc-b', kind: 'service' as const, token: '${env:B}' }];
    const env = { B: legacy };
    const strict = createAuthenticator({ serviceTokens: new ServiceTokenStore(entries, { env }) });
    await expectAuthError(strict.authenticate(legacy), 'PCX_AUTH_INVALID', /unrecognised bearer token/, legacy);
    const lenient = createAuthenticator({ serviceTokens: new ServiceTokenStore(entries, { env }), acceptUnprefixedServiceTokens: true });
    await expect(lenient.authenticate(legacy)).resolves.toMatchObject({ subject: 'svc-b', credentialId: 'tok-b' });
    await expectAuthError(lenient.authenticate('other-token'), 'PCX_AUTH_INVALID', /not valid/, 'other-token');
  });

  it('fromCallHeaders adapts to the gateway Authenticator (headers in, Identity out)', async () => {
    const t = generateServiceToken();
    const auth = fromCallHeaders(createAuthenticator({ serviceTokens: [{ id: 'a', subject: 'agent-a', sha256: t.sha256 }] }));
    await expect(auth.authenticate({ authorization: `Bearer ${t.token}` })).resolves.toMatchObject({ subject: 'agent-a' });
    await expectAuthError(auth.authenticate({}), 'PCX_AUTH_MISSING', /no bearer token/);
    await expectAuthError(auth.authenticate({ authorization: `Basic ${t.token}` }), 'PCX_AUTH_MISSING', /no bearer token/, t.token);
  });

  it('a JWT whose payload is not JSON, or from an unconfigured issuer, is refused', async () => {
    const auth = createAuthenticator({ oidc: [{ issuer: 'https://idp.example', audience: 'gw' }] });
    await expectAuthError(auth.authenticate('eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24.c2ln'), 'PCX_AUTH_INVALID', /malformed token/);
    const payload = Buffer.from(JSON.stringify({ iss: 'https://elsewhere.example', sub: 'x' })).toString('base64url');
    await expectAuthError(auth.authenticate(`eyJhbGciOiJSUzI1NiJ9.${payload}.c2ln`), 'PCX_AUTH_INVALID', /issuer is not trusted/);
  });

  it('refuses two providers for one issuer', () => {
    expect(() => createAuthenticator({ oidc: [{ issuer: 'https://a.example', audience: 'x' }, { issuer: 'https://a.example', audience: 'y' }] })).toThrow(/duplicate issuer/);
  });

  it('bearerFromAuthorization takes only the Bearer scheme', () => {
    expect(bearerFromAuthorization('Bearer abc')).toBe('abc');
    expect(bearerFromAuthorization('bearer  abc ')).toBe('abc');
    expect(bearerFromAuthorization('Basic abc')).toBeUndefined();
    expect(bearerFromAuthorization(undefined)).toBeUndefined();
  });
});

describe('identityConfigSchema', () => {
  it('fills defaults', () => {
    const c = identityConfigSchema.parse({ oidc: [{ issuer: 'https://idp.example', audience: 'gw' }] });
    expect(c.oidc[0]).toMatchObject({ allowedAlgs: ['RS256', 'ES256', 'PS256', 'EdDSA'], clockSkewSec: 60, groupsClaim: 'groups', jwksRefreshMinIntervalMs: 30_000, defaultKind: 'human' });
    expect(identityConfigSchema.parse({})).toEqual({ oidc: [] });
  });

  it('names the bad key: none, HS*, unknown algs, misspelt keys, duplicate issuers', () => {
    const issues = (raw: unknown): string[] => {
      const r = identityConfigSchema.safeParse(raw);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ oidc: [{ issuer: 'https://i', audience: 'a', allowedAlgs: ['none'] }] })).toEqual(['oidc.0.allowedAlgs.0: alg "none" is never allowed', expect.stringMatching(/must be one of/)]);
    expect(issues({ oidc: [{ issuer: 'https://i', audience: 'a', allowedAlgs: ['HS512'] }] })[0]).toMatch(/oidc\.0\.allowedAlgs\.0: HS\* algorithms are never allowed/);
    expect(issues({ oidc: [{ issuer: 'https://i', audience: 'a', allowedAlgs: ['XX1'] }] })[0]).toMatch(/must be one of/);
    expect(issues({ oidc: [{ issuer: 'https://i', audience: 'a', groupClaim: 'x' }] })[0]).toMatch(/groupClaim/);
    expect(issues({ oidc: [{ issuer: 'https://i', audience: 'a' }, { issuer: 'https://i', audience: 'b' }] })).toEqual(['oidc.1.issuer: duplicate issuer https://i']);
  });

  it('refuses key material over plain http except on loopback', () => {
    expect(() => createAuthenticator({ oidc: [{ issuer: 'https://idp.example', audience: 'gw', jwksUri: 'http://idp.example/jwks' }] })).toThrow(/jwksUri: must be https/);
    expect(() => createAuthenticator({ oidc: [{ issuer: 'https://idp.example', audience: 'gw', jwksUri: 'http://127.0.0.1:9/jwks' }] })).not.toThrow();
  });
});
