import { z } from 'zod';
import { isSecureUrl } from './secure-url.js';

/**
 * The identity section of the config (to be mounted at `gateway.identity`). Service
 * tokens stay where they are (`gateway.tokens`, common's serviceTokenSchema); this adds
 * the OIDC issuers. `.strict()` so a misspelt key is named rather than ignored.
 * Depends only on zod (and secure-url.ts) so it can be lifted into @portcullis/common,
 * which cannot import this package without a cycle.
 */

/** Asymmetric JWS algorithms only: the verification key comes from a public JWKS. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGS)[number];
export const DEFAULT_ALLOWED_ALGS: readonly AsymmetricAlg[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];

/**
 * `none` and HS* are refused here with their own message (not a generic enum error):
 * with HS* the "secret" would be the issuer's public key, which anyone can fetch, so a
 * config that allows it would let anyone mint tokens.
 */
const algSchema = z
  .string()
  .refine((a) => a.toLowerCase() !== 'none', { message: 'alg "none" is never allowed' })
  .refine((a) => !/^HS\d+$/i.test(a), { message: 'HS* algorithms are never allowed: the key is public' })
  .refine((a): a is AsymmetricAlg => (ASYMMETRIC_ALGS as readonly string[]).includes(a), { message: `must be one of ${ASYMMETRIC_ALGS.join(', ')}` })
  .transform((a) => a as AsymmetricAlg);

/** Where keys come from must be https; plain http only on loopback (tests, a local sidecar). */
const keyMaterialUrl = z
  .string()
  .url()
  .refine((u) => isSecureUrl(u), { message: 'must be https (plain http only on loopback)' });

export const oidcProviderSchema = z
  .object({
    /** Exactly as the issuer writes it in `iss` (string comparison, trailing slash matters). */
    issuer: z.string().url(),
    /** The token's `aud` must contain at least one of these. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Default: `${issuer without trailing slash}/.well-known/openid-configuration`. */
    discoveryUrl: keyMaterialUrl.optional(),
    /** Skips discovery when given. */
    jwksUri: keyMaterialUrl.optional(),
    allowedAlgs: z.array(algSchema).min(1).default([...DEFAULT_ALLOWED_ALGS]),
    clockSkewSec: z.number().int().min(0).max(600).default(60),
    /** A claim name, or a dotted path into nested objects (`realm_access.roles`). */
    groupsClaim: z.string().min(1).default('groups'),
    /** A claim whose value is agent | human | service. */
    kindClaim: z.string().min(1).default('pcx_kind'),
    /** OAuth client ids (`azp` / `client_id`) whose tokens are agents, or services. */
    agentClientIds: z.array(z.string().min(1)).default([]),
    serviceClientIds: z.array(z.string().min(1)).default([]),
    /** Kind when nothing above decides (and no `act` claim, which implies agent). */
    defaultKind: z.enum(['agent', 'human', 'service']).default('human'),
    /** Least time between two JWKS fetches; bounds what unknown-kid tokens can make us fetch. */
    jwksRefreshMinIntervalMs: z.number().int().min(0).default(30_000),
    /** After this the key set is refetched on use; if that fails the cached keys stay in use. */
    jwksCacheMaxAgeMs: z.number().int().min(1).default(600_000),
    /** Bound on each discovery or JWKS request, body included. */
    httpTimeoutMs: z.number().int().min(1).default(5_000),
  })
  .strict();

export const identityConfigSchema = z
  .object({
    oidc: z.array(oidcProviderSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.oidc.forEach((p, i) => {
      if (seen.has(p.issuer)) ctx.addIssue({ code: 'custom', path: ['oidc', i, 'issuer'], message: `duplicate issuer ${p.issuer}` });
      seen.add(p.issuer);
    });
  });

/** What a caller writes (defaults optional). */
export type OidcConfigInput = z.input<typeof oidcProviderSchema>;
/** After defaults: what the verifier runs on. */
export type OidcConfig = z.output<typeof oidcProviderSchema>;
export type IdentityConfigInput = z.input<typeof identityConfigSchema>;
export type IdentityConfig = z.output<typeof identityConfigSchema>;
