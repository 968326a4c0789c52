import { assertSecureUrl, fetchJson } from './http.js';

/**
 * OIDC discovery: the only thing taken from the document is `jwks_uri`. The document's
 * `issuer` must equal the configured one (OpenID Connect Discovery §4.3); otherwise a
 * document served for one issuer could hand out keys for another.
 */
export function defaultDiscoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export async function discoverJwksUri(issuer: string, discoveryUrl: string, timeoutMs: number): Promise<string> {
  assertSecureUrl(discoveryUrl, 'discovery URL');
  const doc = await fetchJson(discoveryUrl, { timeoutMs });
  if (typeof doc !== 'object' || doc === null) throw new Error('discovery document is not a JSON object');
  const { issuer: docIssuer, jwks_uri: jwksUri } = doc as Record<string, unknown>;
  if (docIssuer !== issuer) throw new Error('discovery document names a different issuer');
  if (typeof jwksUri !== 'string') throw new Error('discovery document has no jwks_uri');
  assertSecureUrl(jwksUri, 'jwks_uri');
  return jwksUri;
}
