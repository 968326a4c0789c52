/**
 * Who is calling, as every later stage (grants, policy, events, detectors) sees it.
 * Structurally the same as the gateway's Identity (services/gateway/src/identity), plus
 * `expiresAt`, so one can be passed where the other is expected.
 */
export type IdentityKind = 'agent' | 'human' | 'service';

export const IDENTITY_KINDS: readonly IdentityKind[] = ['agent', 'human', 'service'];

export interface Identity {
  /**
   * The principal whose rights are exercised at the gateway. For a delegated JWT (one
   * with an RFC 8693 `act` claim) this is the actor (`act.sub`, the agent), not the
   * token's `sub`: the agent is the one issuing commands, and detectors key on it.
   */
  readonly subject: string;
  readonly kind: IdentityKind;
  readonly groups: readonly string[];
  /**
   * A stable id of the credential, never the secret. It stays the same across token
   * refreshes so that credential-origin baselines and `credential:` decisions hold:
   * service token → its configured id; JWT → `jwt:<iss>#<client>/<subject>`, where
   * client is `azp`, else `client_id`, else `-` (see oidc/claims.ts).
   */
  readonly credentialId: string;
  /** The token issuer (OIDC `iss`), or `portcullis:service-token`. */
  readonly issuer: string;
  /** For a delegated JWT: the token's `sub`, the person the agent acts for. */
  readonly onBehalfOf?: string;
  /** Epoch milliseconds after which the credential is no longer valid (JWT `exp`). */
  readonly expiresAt?: number;
}

export function isIdentityKind(v: unknown): v is IdentityKind {
  return typeof v === 'string' && (IDENTITY_KINDS as readonly string[]).includes(v);
}
