// Test support: a real OIDC issuer on 127.0.0.1:0 (discovery document + JWKS over HTTP)
// and tokens signed with `jose`, for tests that authenticate through a real key fetch.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface LocalIssuer {
  /** `http://127.0.0.1:<port>`: the `iss` its tokens carry. */
  readonly issuer: string;
  /** Replaces the published key set. */
  publish(keys: readonly SigningKey[]): void;
  close(): Promise<void>;
}

export async function signingKey(kid: string, alg: SigningKey['alg'] = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export async function startIssuer(keys: readonly SigningKey[] = []): Promise<LocalIssuer> {
  let published = keys;
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return json(200, { issuer, jwks_uri: `${issuer}/jwks` });
    if (req.url === '/jwks') return json(200, { keys: published.map((k) => k.publicJwk) });
    json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    publish(k) {
      published = k;
    },
    close() {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return done;
    },
  };
}

/** A JWT signed by `key`; `iat`/`exp` in epoch seconds (exp defaults to an hour from now). */
export async function signJwt(key: SigningKey, claims: JWTPayload, o: { exp?: number; iat?: number } = {}): Promise<string> {
  const nowSec = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuedAt(o.iat ?? nowSec)
    .setExpirationTime(o.exp ?? nowSec + 3600)
    .sign(key.privateKey);
}
