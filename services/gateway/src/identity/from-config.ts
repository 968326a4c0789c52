import { PcxError, type GatewayConfig, type Logger } from '@portcullis/common';
import { createAuthenticator, fromCallHeaders, identityConfigSchema, ServiceTokenStore, type OidcConfig } from '@portcullis/identity';
import type { Authenticator } from './authenticator.js';

/**
 * `gateway.identity.oidc` is mounted loosely in common's schema (common cannot import
 * @portcullis/identity without a cycle); this validates it with the identity package's own
 * schema, once, at start, naming the bad key under `gateway.identity`.
 */
export function oidcFromConfig(identity: GatewayConfig['identity']): OidcConfig[] {
  const r = identityConfigSchema.safeParse({ oidc: identity.oidc });
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = `gateway.identity.${issue?.path.join('.') ?? ''}`;
    throw new PcxError('PCX_CONFIG_INVALID', `${key}: ${issue?.message ?? 'invalid'}`, { key });
  }
  return r.data.oidc;
}

/**
 * The gateway's authenticator from config: OIDC issuers (JWT, JWKS) and service tokens
 * (`gateway.tokens`, digests only) behind one bearer router, adapted to call headers.
 */
export function authenticatorFromConfig(gw: Pick<GatewayConfig, 'identity' | 'tokens'>, env: Readonly<Record<string, string | undefined>>, logger: Logger): Authenticator {
  const store = new ServiceTokenStore(gw.tokens, { env });
  const bearer = createAuthenticator({
    oidc: oidcFromConfig(gw.identity),
    serviceTokens: store,
    acceptUnprefixedServiceTokens: gw.identity.acceptUnprefixedServiceTokens,
    log: logger.child({ component: 'identity' }),
  });
  return fromCallHeaders(bearer);
}
