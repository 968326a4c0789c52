/**
 * Who is calling. Kept behind one interface so that OIDC (JWT) authentication plugs in
 * beside service tokens without the pipeline knowing which one answered.
 */
export type IdentityKindName = 'agent' | 'human' | 'service';

export interface Identity {
  readonly subject: string;
  readonly kind: IdentityKindName;
  readonly groups: readonly string[];
  /** A stable id of the credential (never the secret itself); decisions name it. */
  readonly credentialId: string;
  readonly issuer: string;
  readonly onBehalfOf?: string;
}

/** What an authenticator sees of a call: its metadata, lower-cased keys, first value each. */
export type CallHeaders = Readonly<Record<string, string | undefined>>;

export interface Authenticator {
  /**
   * Resolves the caller's identity. Throws PcxError PCX_AUTH_MISSING when no credential
   * was presented and PCX_AUTH_INVALID when it was not recognised.
   */
  authenticate(headers: CallHeaders): Promise<Identity> | Identity;
}

/** `authorization: Bearer <token>` → the token, or undefined when absent or malformed. */
export function bearerToken(headers: CallHeaders): string | undefined {
  const h = headers['authorization'];
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}
