import { decodeJwt } from 'jose';
import { PcxError } from '@portcullis/common';
import { authInvalid, authMissing, printable } from './auth-error.js';
import type { OidcConfigInput } from './config.js';
import type { Identity } from './identity.js';
import { OidcVerifier, type OidcVerifierOptions } from './oidc/verify.js';
import { looksLikeServiceToken, ServiceTokenStore, type ServiceTokenEntry } from './service-tokens.js';

/**
 * One entry point for every bearer credential. Routing is by shape, decided before any
 * verification: `pcx_…` → the service-token store; three dot-separated parts → the OIDC
 * verifier of the issuer named in the (not yet verified) `iss` claim, which then checks
 * everything including `iss` again; anything else is refused. Each failure is a
 * PcxError (PCX_AUTH_MISSING / PCX_AUTH_INVALID / PCX_AUTH_EXPIRED) whose reason never
 * contains the token.
 */
export interface BearerAuthenticator {
  authenticate(bearer: string | undefined): Promise<Identity>;
}

export interface AuthenticatorOptions extends OidcVerifierOptions {
  readonly oidc?: readonly OidcConfigInput[];
  /** A store (so the caller can reload() it on config change) or the entries to build one from. */
  readonly serviceTokens?: ServiceTokenStore | readonly ServiceTokenEntry[];
  /**
   * Send bearers that are neither `pcx_…` nor JWT-shaped to the store too, for service
   * tokens minted before the prefix existed. Off by default: the prefix is what lets
   * secret scanners find a leaked token.
   */
  readonly acceptUnprefixedServiceTokens?: boolean;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function createAuthenticator(opts: AuthenticatorOptions): BearerAuthenticator {
  const verifierOpts: OidcVerifierOptions = { ...(opts.now ? { now: opts.now } : {}), ...(opts.log ? { log: opts.log } : {}) };
  const verifiers = new Map<string, OidcVerifier>();
  for (const c of opts.oidc ?? []) {
    const v = new OidcVerifier(c, verifierOpts);
    if (verifiers.has(v.issuer)) throw authInvalidConfig(v.issuer);
    verifiers.set(v.issuer, v);
  }
  const store = opts.serviceTokens instanceof ServiceTokenStore ? opts.serviceTokens : new ServiceTokenStore(opts.serviceTokens ?? []);

  return {
    async authenticate(bearer: string | undefined): Promise<Identity> {
      const token = bearer?.trim();
      if (token === undefined || token === '') throw authMissing();
      if (looksLikeServiceToken(token)) return store.verify(token);
      if (!JWT_SHAPE.test(token)) {
        if (opts.acceptUnprefixedServiceTokens === true) return store.verify(token);
        throw authInvalid('unrecognised bearer token: expected a service token (pcx_…) or a JWT');
      }
      let iss: unknown;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        throw authInvalid('malformed token: the payload is not a JWT claim set');
      }
      const verifier = typeof iss === 'string' ? verifiers.get(iss) : undefined;
      if (verifier === undefined) throw authInvalid('token issuer is not trusted', { claimedIssuer: printable(iss) });
      return verifier.verify(token);
    },
  };
}

function authInvalidConfig(issuer: string): PcxError {
  return new PcxError('PCX_CONFIG_INVALID', `identity.oidc: duplicate issuer ${issuer}`);
}

/**
 * The gateway's Authenticator takes call headers (lower-cased keys) rather than a
 * bearer; this adapts without either package importing the other.
 */
export function fromCallHeaders(auth: BearerAuthenticator): { authenticate(headers: Readonly<Record<string, string | undefined>>): Promise<Identity> } {
  return { authenticate: (headers) => auth.authenticate(bearerFromAuthorization(headers['authorization'])) };
}

/** `Bearer <token>` from an Authorization header value; undefined when absent or another scheme. */
export function bearerFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
