export type { Identity, IdentityKind } from './identity.js';
export { IDENTITY_KINDS, isIdentityKind } from './identity.js';
export {
  ASYMMETRIC_ALGS,
  DEFAULT_ALLOWED_ALGS,
  identityConfigSchema,
  oidcProviderSchema,
  type AsymmetricAlg,
  type IdentityConfig,
  type IdentityConfigInput,
  type OidcConfig,
  type OidcConfigInput,
} from './config.js';
export { OidcVerifier, type OidcVerifierOptions } from './oidc/verify.js';
export { claimAt, groupsFrom, identityFromClaims, type ClaimMapping } from './oidc/claims.js';
export { defaultDiscoveryUrl } from './oidc/discovery.js';
export {
  generateServiceToken,
  hashServiceToken,
  looksLikeServiceToken,
  SERVICE_TOKEN_ISSUER,
  SERVICE_TOKEN_PREFIX,
  ServiceTokenStore,
  type GeneratedServiceToken,
  type ServiceTokenEntry,
  type ServiceTokenStoreOptions,
} from './service-tokens.js';
export { bearerFromAuthorization, createAuthenticator, fromCallHeaders, type AuthenticatorOptions, type BearerAuthenticator } from './authenticator.js';
