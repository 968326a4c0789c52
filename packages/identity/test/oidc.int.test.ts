import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportSPKI, SignJWT, base64url } from 'jose';
import { createAuthenticator, OidcVerifier, type BearerAuthenticator, type OidcConfigInput } from '../src/index.js';
import { expectAuthError } from './fixtures/expect-auth.js';
import { makeKey, signToken, startIdp, withKid, type TestIdp, type TestKey } from './fixtures/idp.js';

const T0 = Date.UTC(2031, 0, 15, 12, 0, 0);
const SEC = T0 / 1000;
const AUD = 'portcullis-gateway';

let rsa: TestKey;
let ec: TestKey;
let attacker: TestKey;
let rsa2: TestKey;

beforeAll(async () => {
  [rsa, ec, attacker, rsa2] = await Promise.all([makeKey('RS256', 'rsa-1'), makeKey('ES256', 'ec-1'), makeKey('RS256', 'attacker'), makeKey('RS256', 'rsa-2')]);
});

const opened: TestIdp[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((i) => i.close()));
});

interface Harness {
  readonly idp: TestIdp;
  readonly auth: BearerAuthenticator;
  readonly clock: { t: number };
  claims(extra?: Record<string, unknown>): Record<string, unknown>;
}

async function harness(keys: readonly TestKey[], cfg: Partial<OidcConfigInput> = {}): Promise<Harness> {
  const idp = await startIdp();
  opened.push(idp);
  idp.publish(keys);
  const clock = { t: T0 };
  const auth = createAuthenticator({
    oidc: [{ issuer: idp.issuer, audience: AUD, jwksCacheMaxAgeMs: 300_000, httpTimeoutMs: 300, ...cfg }],
    now: () => clock.t,
  });
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ iss: idp.issuer, aud: AUD, sub: 'alice', azp: 'cli-app', ...extra });
  return { idp, auth, clock, claims };
}

const valid = { iat: SEC, exp: SEC + 3600 };

describe('OIDC access tokens against a real JWKS + discovery server', () => {
  it('accepts a valid RS256 token and maps it to an Identity', async () => {
    const h = await harness([rsa]);
    const id = await h.auth.authenticate(await signToken(rsa, h.claims({ groups: ['analysts', 'oncall'] }), valid));
    expect(id).toEqual({
      subject: 'alice',
      kind: 'human',
      groups: ['analysts', 'oncall'],
      credentialId: `jwt:${h.idp.issuer}#cli-app/alice`,
      issuer: h.idp.issuer,
      expiresAt: (SEC + 3600) * 1000,
    });
    expect(h.idp.jwksHits()).toBe(1);
  });

  it('accepts a valid ES256 token; keys are cached across tokens', async () => {
    const h = await harness([rsa, ec]);
    const a = await h.auth.authenticate(await signToken(ec, h.claims({ sub: 'svc-1', pcx_kind: 'service' }), valid));
    expect(a).toMatchObject({ subject: 'svc-1', kind: 'service' });
    await h.auth.authenticate(await signToken(rsa, h.claims(), valid));
    expect(h.idp.jwksHits()).toBe(1);
  });

  it('accepts PS256 and EdDSA tokens too', async () => {
    const [ps, ed] = await Promise.all([makeKey('PS256', 'ps-1'), makeKey('EdDSA', 'ed-1')]);
    const h = await harness([ps, ed]);
    await expect(h.auth.authenticate(await signToken(ps, h.claims({ sub: 'p' }), valid))).resolves.toMatchObject({ subject: 'p' });
    await expect(h.auth.authenticate(await signToken(ed, h.claims({ sub: 'e' }), valid))).resolves.toMatchObject({ subject: 'e' });
  });

  it('concurrent first requests share one key-set fetch', async () => {
    const h = await harness([rsa]);
    const tok = await signToken(rsa, h.claims(), valid);
    const ids = await Promise.all(Array.from({ length: 10 }, () => h.auth.authenticate(tok)));
    expect(ids.map((i) => i.subject)).toEqual(Array(10).fill('alice'));
    expect(h.idp.jwksHits()).toBe(1);
  });

  it('a key of the wrong type under the right kid is never used', async () => {
    const h = await harness([rsa]);
    // Header says ES256 and names the RSA key's kid: there is no EC key with that kid.
    const mismatched = await signToken(withKid(ec, rsa.kid), h.claims(), valid);
    await expectAuthError(h.auth.authenticate(mismatched), 'PCX_AUTH_INVALID', /unknown signing key/, mismatched);
  });

  it('rejects a forged signature: another key under the published kid', async () => {
    const h = await harness([rsa]);
    const forged = await signToken(withKid(attacker, rsa.kid), h.claims(), valid);
    await expectAuthError(h.auth.authenticate(forged), 'PCX_AUTH_INVALID', /signature verification failed/, forged);
  });

  it('rejects an expired token with PCX_AUTH_EXPIRED, beyond the clock skew only', async () => {
    const h = await harness([rsa]);
    const expired = await signToken(rsa, h.claims(), { iat: SEC - 7200, exp: SEC - 61 });
    await expectAuthError(h.auth.authenticate(expired), 'PCX_AUTH_EXPIRED', /expired/, expired);
    // Within the 60 s skew it still passes: the skew is applied, not just claimed.
    const justExpired = await signToken(rsa, h.claims(), { iat: SEC - 7200, exp: SEC - 30 });
    await expect(h.auth.authenticate(justExpired)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('rejects a token that is not yet valid (nbf) and one issued in the future (iat)', async () => {
    const h = await harness([rsa]);
    const early = await signToken(rsa, h.claims(), { iat: SEC, nbf: SEC + 600, exp: SEC + 3600 });
    await expectAuthError(h.auth.authenticate(early), 'PCX_AUTH_INVALID', /not yet valid/, early);
    const future = await signToken(rsa, h.claims(), { iat: SEC + 600, exp: SEC + 3600 });
    await expectAuthError(h.auth.authenticate(future), 'PCX_AUTH_INVALID', /issued in the future/, future);
  });

  it('rejects a token without exp', async () => {
    const h = await harness([rsa]);
    const forever = await signToken(rsa, h.claims(), { iat: SEC, exp: null });
    await expectAuthError(h.auth.authenticate(forever), 'PCX_AUTH_INVALID', /lacks required claim exp/, forever);
  });

  it('rejects the wrong audience; accepts any one of several configured audiences', async () => {
    const h = await harness([rsa], { audience: [AUD, 'other-api'] });
    const wrong = await signToken(rsa, h.claims({ aud: 'someone-else' }), valid);
    await expectAuthError(h.auth.authenticate(wrong), 'PCX_AUTH_INVALID', /audience does not match/, wrong);
    const other = await signToken(rsa, h.claims({ aud: ['x', 'other-api'] }), valid);
    await expect(h.auth.authenticate(other)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('rejects the wrong issuer: untrusted at routing, and mismatched at the verifier', async () => {
    const h = await harness([rsa]);
    const untrusted = await signToken(rsa, h.claims({ iss: 'https://evil.example' }), valid);
    await expectAuthError(h.auth.authenticate(untrusted), 'PCX_AUTH_INVALID', /issuer is not trusted/, untrusted);
    // The verifier itself checks iss too, for callers that use it directly.
    const verifier = new OidcVerifier({ issuer: h.idp.issuer, audience: AUD }, { now: () => T0 });
    await expectAuthError(verifier.verify(untrusted), 'PCX_AUTH_INVALID', /issuer does not match/, untrusted);
  });

  it('rejects alg none (an unsigned token crafted by hand)', async () => {
    const h = await harness([rsa]);
    const enc = (o: unknown): string => base64url.encode(JSON.stringify(o));
    const unsigned = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...h.claims(), ...valid })}.`;
    await expectAuthError(h.auth.authenticate(unsigned), 'PCX_AUTH_INVALID', /alg none/);
    const noneKid = `${enc({ alg: 'None', kid: rsa.kid })}.${enc({ ...h.claims(), ...valid })}.`;
    await expectAuthError(h.auth.authenticate(noneKid), 'PCX_AUTH_INVALID', /alg none/);
    expect(h.idp.jwksHits()).toBe(0);
  });

  it('rejects HS256 signed with the public key bytes (key confusion)', async () => {
    const h = await harness([rsa]);
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, JSON.stringify(rsa.publicJwk)]) {
      const confused = await new SignJWT({ ...h.claims(), ...valid }).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode(secret));
      await expectAuthError(h.auth.authenticate(confused), 'PCX_AUTH_INVALID', /symmetric algorithm HS256 is never accepted/, confused);
    }
  });

  it('refuses a config that allows none or HS256', () => {
    for (const bad of ['HS256', 'none']) {
      let err: unknown;
      try {
        createAuthenticator({ oidc: [{ issuer: 'https://idp.example', audience: AUD, allowedAlgs: ['RS256', bad] as never }] });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'PCX_CONFIG_INVALID' });
      expect((err as Error).message).toMatch(/allowedAlgs\.1: (HS\* algorithms are never allowed|alg "none" is never allowed)/);
    }
  });

  it('rejects an allowed-by-default alg that the config narrowed away', async () => {
    const h = await harness([rsa, ec], { allowedAlgs: ['RS256'] });
    const es = await signToken(ec, h.claims(), valid);
    await expectAuthError(h.auth.authenticate(es), 'PCX_AUTH_INVALID', /algorithm ES256 is not allowed/, es);
  });

  it('unknown kid: one refetch per refresh interval, then fails closed', async () => {
    const h = await harness([rsa]);
    await h.auth.authenticate(await signToken(rsa, h.claims(), valid));
    expect(h.idp.jwksHits()).toBe(1);

    h.clock.t += 31_000;
    const unknown = await signToken(withKid(attacker, 'nobody-knows'), h.claims(), valid);
    await expectAuthError(h.auth.authenticate(unknown), 'PCX_AUTH_INVALID', /unknown signing key/, unknown);
    expect(h.idp.jwksHits()).toBe(2);
    // Within the interval a flood of unknown kids costs the issuer nothing.
    for (let i = 0; i < 5; i++) await expectAuthError(h.auth.authenticate(unknown), 'PCX_AUTH_INVALID', /unknown signing key/, unknown);
    expect(h.idp.jwksHits()).toBe(2);

    h.clock.t += 31_000;
    await expectAuthError(h.auth.authenticate(unknown), 'PCX_AUTH_INVALID', /unknown signing key/, unknown);
    expect(h.idp.jwksHits()).toBe(3);
  });

  it('rotation: the new kid works after refetch, the old one while still published, not after', async () => {
    const h = await harness([rsa], { jwksCacheMaxAgeMs: 120_000 });
    const oldTok = await signToken(rsa, h.claims(), valid);
    await h.auth.authenticate(oldTok);

    h.idp.publish([rsa, rsa2]);
    h.clock.t += 31_000;
    const newTok = await signToken(rsa2, h.claims(), valid);
    await expect(h.auth.authenticate(newTok)).resolves.toMatchObject({ subject: 'alice' });
    await expect(h.auth.authenticate(oldTok)).resolves.toMatchObject({ subject: 'alice' });
    expect(h.idp.jwksHits()).toBe(2);

    // The issuer retires the old key; once the cache is past its age the refetch drops it.
    h.idp.publish([rsa2]);
    h.clock.t += 121_000;
    await expectAuthError(h.auth.authenticate(oldTok), 'PCX_AUTH_INVALID', /unknown signing key/, oldTok);
    await expect(h.auth.authenticate(newTok)).resolves.toMatchObject({ subject: 'alice' });
  });

  it('JWKS endpoint down after the first fetch: cached keys keep working, unknown kid fails closed, logged once', async () => {
    const idp = await startIdp();
    opened.push(idp);
    idp.publish([rsa]);
    const clock = { t: T0 };
    const warnings: unknown[] = [];
    const log = { warn: (obj: unknown): void => void warnings.push(obj) };
    const auth = createAuthenticator({ oidc: [{ issuer: idp.issuer, audience: AUD, jwksCacheMaxAgeMs: 60_000 }], now: () => clock.t, log });
    const claims = { iss: idp.issuer, aud: AUD, sub: 'alice' };
    const tok = await signToken(rsa, claims, valid);
    await auth.authenticate(tok);
    await idp.down();
    clock.t += 600_000;
    await expect(auth.authenticate(tok)).resolves.toMatchObject({ subject: 'alice' });
    clock.t += 31_000;
    const unknown = await signToken(rsa2, claims, valid);
    await expectAuthError(auth.authenticate(unknown), 'PCX_AUTH_INVALID', /unknown signing key/, unknown);
    await expect(auth.authenticate(tok)).resolves.toMatchObject({ subject: 'alice' });
    // Two failed fetches, one warning: a failing streak is logged once, and never with a token.
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain(tok.split('.')[2]);
  });

  it('JWKS endpoint answering 500: cached keys keep working', async () => {
    const h = await harness([rsa], { jwksCacheMaxAgeMs: 60_000 });
    const tok = await signToken(rsa, h.claims(), valid);
    await h.auth.authenticate(tok);
    h.idp.mode('error');
    h.clock.t += 61_000;
    await expect(h.auth.authenticate(tok)).resolves.toMatchObject({ subject: 'alice' });
    expect(h.idp.jwksHits()).toBe(2);
  });

  it('slow JWKS endpoint: bounded failure with no cache, cached keys keep working with one', async () => {
    const cold = await harness([rsa]);
    cold.idp.mode('slow');
    const tok = await signToken(rsa, cold.claims(), valid);
    await expectAuthError(cold.auth.authenticate(tok), 'PCX_AUTH_INVALID', /signing keys unavailable/, tok);
    expect(cold.idp.jwksHits()).toBe(1);

    const warm = await harness([rsa], { jwksCacheMaxAgeMs: 60_000 });
    const warmTok = await signToken(rsa, warm.claims(), valid);
    await warm.auth.authenticate(warmTok);
    warm.idp.mode('slow');
    warm.clock.t += 61_000;
    await expect(warm.auth.authenticate(warmTok)).resolves.toMatchObject({ subject: 'alice' });
    expect(warm.idp.jwksHits()).toBe(2);
    warm.clock.t += 31_000;
    const unknown = await signToken(rsa2, warm.claims(), valid);
    await expectAuthError(warm.auth.authenticate(unknown), 'PCX_AUTH_INVALID', /unknown signing key/, unknown);
  });

  it('discovery naming another issuer yields no keys', async () => {
    const idp = await startIdp({ discoveryIssuer: 'https://someone-else.example' });
    opened.push(idp);
    idp.publish([rsa]);
    const auth = createAuthenticator({ oidc: [{ issuer: idp.issuer, audience: AUD }], now: () => T0 });
    const tok = await signToken(rsa, { iss: idp.issuer, aud: AUD, sub: 'alice' }, valid);
    await expectAuthError(auth.authenticate(tok), 'PCX_AUTH_INVALID', /signing keys unavailable/, tok);
    expect(idp.jwksHits()).toBe(0);
  });

  it('groups from a nested claim (realm_access.roles)', async () => {
    const h = await harness([rsa], { groupsClaim: 'realm_access.roles' });
    const tok = await signToken(rsa, h.claims({ realm_access: { roles: ['dba', 'readers'] }, groups: ['ignored'] }), valid);
    await expect(h.auth.authenticate(tok)).resolves.toMatchObject({ groups: ['dba', 'readers'] });
  });

  it('act claim: the agent is the subject, the person is onBehalfOf', async () => {
    const h = await harness([ec], { agentClientIds: ['agent-runner'] });
    const tok = await signToken(ec, h.claims({ sub: 'alice@example.com', azp: 'agent-runner', act: { sub: 'agent:planner-7' } }), valid);
    const id = await h.auth.authenticate(tok);
    expect(id).toMatchObject({ subject: 'agent:planner-7', onBehalfOf: 'alice@example.com', kind: 'agent', credentialId: `jwt:${h.idp.issuer}#agent-runner/agent:planner-7` });
  });

  it('an explicit jwksUri skips discovery', async () => {
    const idp = await startIdp({ discoveryIssuer: 'https://would-fail.example' });
    opened.push(idp);
    idp.publish([ec]);
    const auth = createAuthenticator({ oidc: [{ issuer: idp.issuer, audience: AUD, jwksUri: idp.jwksUrl }], now: () => T0 });
    await expect(auth.authenticate(await signToken(ec, { iss: idp.issuer, aud: AUD, sub: 'bob' }, valid))).resolves.toMatchObject({ subject: 'bob' });
  });
});
