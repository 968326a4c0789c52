import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { formatConfigIssues, isPcxError, PcxError, type Logger } from '@portcullis/common';
import { authExpired, authInvalid, printable } from '../auth-error.js';
import { oidcProviderSchema, type OidcConfig, type OidcConfigInput } from '../config.js';
import type { Identity } from '../identity.js';
import { identityFromClaims } from './claims.js';
import { defaultDiscoveryUrl, discoverJwksUri } from './discovery.js';
import { JwksCache } from './jwks-cache.js';

/** Far above any real access token; refuses to parse megabytes of attacker input. */
const MAX_TOKEN_CHARS = 16 * 1024;

export interface OidcVerifierOptions {
  /** Epoch ms. Injected so tests control expiry and refresh intervals without sleeping. */
  readonly now?: () => number;
  readonly log?: Pick<Logger, 'warn'>;
}

/**
 * Verifies access tokens (JWT) of one issuer. Checks, in order: size, header alg
 * (`none` and HS* refused outright whatever the config says, then the allow-list),
 * signature against the issuer's JWKS (see jwks-cache.ts), then iss, aud, exp
 * (PCX_AUTH_EXPIRED), nbf and iat (not in the future), all with clockSkewSec of slack.
 * `exp` and `sub` are required: a token without expiry would be a password.
 */
export class OidcVerifier {
  readonly config: OidcConfig;
  readonly #now: () => number;
  readonly #jwks: JwksCache;
  #jwksUri: Promise<string> | undefined;

  constructor(config: OidcConfigInput, opts: OidcVerifierOptions = {}) {
    const parsed = oidcProviderSchema.safeParse(config);
    if (!parsed.success) throw new PcxError('PCX_CONFIG_INVALID', `identity.oidc: ${formatConfigIssues(parsed.error)}`);
    this.config = parsed.data;
    this.#now = opts.now ?? Date.now;
    const c = this.config;
    this.#jwks = new JwksCache({
      issuer: c.issuer,
      jwksUri: () => this.#resolveJwksUri(),
      timeoutMs: c.httpTimeoutMs,
      refreshMinIntervalMs: c.jwksRefreshMinIntervalMs,
      maxAgeMs: c.jwksCacheMaxAgeMs,
      now: this.#now,
      log: opts.log,
    });
  }

  get issuer(): string {
    return this.config.issuer;
  }

  async verify(token: string): Promise<Identity> {
    const c = this.config;
    if (token.length > MAX_TOKEN_CHARS) throw authInvalid('token too large', { issuer: c.issuer });
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw authInvalid('malformed token: the header is not valid JWS', { issuer: c.issuer });
    }
    if (typeof alg !== 'string') throw authInvalid('token header has no alg', { issuer: c.issuer });
    if (alg.toLowerCase() === 'none') throw authInvalid('unsigned token (alg none) is never accepted', { issuer: c.issuer });
    if (/^HS\d+$/i.test(alg)) throw authInvalid(`symmetric algorithm ${printable(alg, 16)} is never accepted: the issuer key is public`, { issuer: c.issuer });
    if (!(c.allowedAlgs as readonly string[]).includes(alg)) throw authInvalid(`signing algorithm ${printable(alg, 16)} is not allowed`, { issuer: c.issuer });

    const now = this.#now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (h) => this.#jwks.getKey({ alg: h.alg, kid: h.kid }), {
        issuer: c.issuer,
        audience: c.audience,
        algorithms: [...c.allowedAlgs],
        clockTolerance: c.clockSkewSec,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (e) {
      throw fromJoseError(e, c.issuer);
    }
    // jose only checks iat when maxTokenAge is set; a token minted in the future means a broken or hostile issuer clock.
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + c.clockSkewSec) throw authInvalid('token is issued in the future (iat)', { issuer: c.issuer });
    return identityFromClaims(payload, c);
  }

  /** Discovery runs once; a failure is forgotten so the next (rate-limited) key fetch tries again. */
  #resolveJwksUri(): Promise<string> {
    const c = this.config;
    if (c.jwksUri !== undefined) return Promise.resolve(c.jwksUri);
    if (this.#jwksUri === undefined) {
      const p = discoverJwksUri(c.issuer, c.discoveryUrl ?? defaultDiscoveryUrl(c.issuer), c.httpTimeoutMs);
      this.#jwksUri = p;
      p.catch(() => {
        if (this.#jwksUri === p) this.#jwksUri = undefined;
      });
    }
    return this.#jwksUri;
  }
}

/** jose's failures → stable codes with a reason a caller can act on. */
function fromJoseError(e: unknown, issuer: string): PcxError {
  if (isPcxError(e)) return e;
  if (e instanceof errors.JWTExpired) return authExpired('token has expired', { issuer });
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') return authInvalid(`token lacks required claim ${e.claim}`, { issuer, claim: e.claim });
    switch (e.claim) {
      case 'nbf':
        return authInvalid('token is not yet valid (nbf)', { issuer, claim: 'nbf' });
      case 'iss':
        return authInvalid('token issuer does not match', { issuer, claim: 'iss' });
      case 'aud':
        return authInvalid('token audience does not match', { issuer, claim: 'aud' });
      default:
        return authInvalid(`token claim ${printable(e.claim, 32)} is invalid`, { issuer, claim: e.claim });
    }
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return authInvalid('signature verification failed', { issuer });
  if (e instanceof errors.JOSEAlgNotAllowed) return authInvalid('signing algorithm is not allowed', { issuer });
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return authInvalid('malformed token', { issuer });
  if (e instanceof errors.JOSENotSupported) return authInvalid('unsupported token algorithm or key', { issuer });
  return authInvalid('token verification failed', { issuer });
}
