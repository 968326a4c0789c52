import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Logger } from '@portcullis/common';
import { authInvalid, printable } from '../auth-error.js';
import { fetchJson } from './http.js';

/**
 * The issuer's signing keys, held across fetches. jose's createRemoteJWKSet is not used
 * because the gateway needs guarantees it does not spell out together:
 *
 * - a key set that once loaded keeps serving while the endpoint is down or slow (a
 *   failed refresh never empties the cache), so an IdP outage does not stop traffic
 *   for tokens signed with keys we already trust;
 * - a token naming a key we do not hold may trigger at most one fetch per
 *   `refreshMinIntervalMs` (measured from the last attempt, failed or not), so a flood
 *   of made-up kids cannot turn the gateway into a load generator against the IdP;
 * - when the key is still unknown after that, the token fails closed;
 * - only asymmetric public keys are ever handed to the verifier: `oct` entries,
 *   entries carrying private parts and keys of the wrong type for the header's alg
 *   are never candidates, so an HS*-with-the-public-key token has nothing to verify with.
 *
 * Time comes from the injected clock so tests can move past the intervals without sleeping.
 */
export interface JwksCacheOptions {
  readonly issuer: string;
  /** Resolves the key set URL (through discovery, once). A rejection counts as a failed fetch. */
  readonly jwksUri: () => Promise<string>;
  readonly timeoutMs: number;
  readonly refreshMinIntervalMs: number;
  readonly maxAgeMs: number;
  readonly now: () => number;
  readonly log?: Pick<Logger, 'warn'> | undefined;
}

export interface JwsHeader {
  readonly alg: string;
  readonly kid?: string | undefined;
}

export class JwksCache {
  readonly #opts: JwksCacheOptions;
  #keys: readonly JWK[] | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #lastError: string | undefined;
  #imported = new Map<string, Promise<CryptoKey>>();

  constructor(opts: JwksCacheOptions) {
    this.#opts = opts;
  }

  async getKey(header: JwsHeader): Promise<CryptoKey> {
    const now = this.#opts.now();
    if (this.#keys === undefined) {
      await this.#tryRefresh(now);
      if (this.#keys === undefined) {
        throw authInvalid('signing keys unavailable: the issuer key set could not be fetched', { issuer: this.#opts.issuer, cause: this.#lastError });
      }
    } else if (now - this.#fetchedAt >= this.#opts.maxAgeMs) {
      await this.#tryRefresh(now);
    }
    let jwk = this.#select(header);
    if (jwk === undefined && (await this.#tryRefresh(now))) jwk = this.#select(header);
    if (jwk === undefined) throw authInvalid('unknown signing key', { issuer: this.#opts.issuer, kid: header.kid === undefined ? undefined : printable(header.kid, 64) });
    return this.#import(jwk, header.alg);
  }

  /** Fetches unless one ran within the refresh interval; joins a fetch in flight. True when the key set may have changed. */
  async #tryRefresh(now: number): Promise<boolean> {
    if (this.#inflight) {
      await this.#inflight;
      return true;
    }
    if (now - this.#lastAttemptAt < this.#opts.refreshMinIntervalMs) return false;
    this.#lastAttemptAt = now;
    this.#inflight = this.#refresh(now).finally(() => {
      this.#inflight = undefined;
    });
    await this.#inflight;
    return true;
  }

  /** Never throws: a failure keeps whatever keys we had and is logged once per failing streak. */
  async #refresh(now: number): Promise<void> {
    try {
      const url = await this.#opts.jwksUri();
      const doc = await fetchJson(url, { timeoutMs: this.#opts.timeoutMs });
      this.#keys = parseKeySet(doc);
      this.#fetchedAt = now;
      this.#imported.clear();
      this.#lastError = undefined;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (this.#lastError === undefined) this.#opts.log?.warn({ issuer: this.#opts.issuer, err: message, cachedKeys: this.#keys?.length ?? 0 }, 'JWKS fetch failed; cached keys stay in use');
      this.#lastError = message;
    }
  }

  #select(header: JwsHeader): JWK | undefined {
    const keys = this.#keys ?? [];
    const usable = keys.filter((k) => keyFitsAlg(k, header.alg));
    if (header.kid !== undefined) return usable.find((k) => k.kid === header.kid);
    // A token without kid is only acceptable when the choice is unambiguous.
    return usable.length === 1 ? usable[0] : undefined;
  }

  #import(jwk: JWK, alg: string): Promise<CryptoKey> {
    const id = `${alg}|${JSON.stringify(jwk)}`;
    let p = this.#imported.get(id);
    if (p === undefined) {
      p = importJWK(jwk, alg).then((k) => {
        if (k instanceof Uint8Array) throw new Error('symmetric key');
        return k;
      });
      p.catch(() => this.#imported.delete(id));
      this.#imported.set(id, p);
    }
    return p.catch(() => {
      throw authInvalid('signing key is unusable for the token algorithm', { issuer: this.#opts.issuer, alg });
    });
  }
}

function parseKeySet(doc: unknown): readonly JWK[] {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) throw new Error('key set is not a JWKS ({"keys": [...]})');
  const keys = (doc as { keys: unknown[] }).keys;
  return keys.filter((k): k is JWK => {
    if (typeof k !== 'object' || k === null) return false;
    const j = k as JWK;
    if (typeof j.kty !== 'string' || j.kty === 'oct') return false;
    // A published private key is a misconfiguration; it is never a verification key.
    if ('d' in j) return false;
    if (j.use !== undefined && j.use !== 'sig') return false;
    if (Array.isArray(j.key_ops) && !j.key_ops.includes('verify')) return false;
    return true;
  });
}

const EC_CURVES: Readonly<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Whether a key may verify this alg: the JWK's own alg (if any) must match, and the key type must fit. */
export function keyFitsAlg(k: JWK, alg: string): boolean {
  if (k.alg !== undefined && k.alg !== alg) return false;
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return k.kty === 'RSA';
  const crv = EC_CURVES[alg];
  if (crv !== undefined) return k.kty === 'EC' && k.crv === crv;
  if (alg === 'EdDSA') return k.kty === 'OKP' && (k.crv === 'Ed25519' || k.crv === 'Ed448');
  if (alg === 'Ed25519') return k.kty === 'OKP' && k.crv === 'Ed25519';
  return false;
}
