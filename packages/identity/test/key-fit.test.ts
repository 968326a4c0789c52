import { describe, expect, it } from 'vitest';
import { keyFitsAlg } from '../src/oidc/jwks-cache.js';

describe('keyFitsAlg', () => {
  it('matches key type and curve to the header alg', () => {
    expect(keyFitsAlg({ kty: 'RSA' }, 'RS256')).toBe(true);
    expect(keyFitsAlg({ kty: 'RSA' }, 'PS256')).toBe(true);
    expect(keyFitsAlg({ kty: 'RSA' }, 'ES256')).toBe(false);
    expect(keyFitsAlg({ kty: 'EC', crv: 'P-256' }, 'ES256')).toBe(true);
    expect(keyFitsAlg({ kty: 'EC', crv: 'P-384' }, 'ES256')).toBe(false);
    expect(keyFitsAlg({ kty: 'OKP', crv: 'Ed25519' }, 'EdDSA')).toBe(true);
    expect(keyFitsAlg({ kty: 'OKP', crv: 'X25519' }, 'EdDSA')).toBe(false);
  });

  it('never offers a key for HS* or none, and honours the key own alg', () => {
    expect(keyFitsAlg({ kty: 'oct' }, 'HS256')).toBe(false);
    expect(keyFitsAlg({ kty: 'RSA' }, 'HS256')).toBe(false);
    expect(keyFitsAlg({ kty: 'RSA' }, 'none')).toBe(false);
    expect(keyFitsAlg({ kty: 'RSA', alg: 'RS256' }, 'PS256')).toBe(false);
  });
});
