import { createHash, timingSafeEqual } from 'node:crypto';
import { PcxError, resolveSecretRef, type ServiceTokenConfig } from '@portcullis/common';
import { bearerToken, type Authenticator, type CallHeaders, type Identity } from './authenticator.js';

export const SERVICE_TOKEN_ISSUER = 'portcullis:service-token';

interface TokenEntry {
  readonly digest: Buffer;
  readonly identity: Identity;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Service tokens from config. Only SHA-256 digests are kept in memory: a config gives
 * either the digest (`sha256`) or a reference to the token (`token: ${env:…}`), which is
 * resolved once here and hashed. A presented token is hashed and compared against every
 * entry with timingSafeEqual, so neither timing nor an early exit tells which one came
 * close.
 */
export class ServiceTokenAuthenticator implements Authenticator {
  private readonly entries: readonly TokenEntry[];

  constructor(tokens: readonly ServiceTokenConfig[], env: Readonly<Record<string, string | undefined>>) {
    this.entries = tokens.map((t, i) => ({
      digest: t.sha256 ? Buffer.from(t.sha256, 'hex') : sha256(resolveSecretRef(t.token ?? '', `gateway.tokens.${i}.token`, env).reveal()),
      identity: Object.freeze({
        subject: t.subject,
        kind: t.kind,
        groups: Object.freeze([...t.groups]),
        credentialId: t.id,
        issuer: SERVICE_TOKEN_ISSUER,
      }),
    }));
  }

  authenticate(headers: CallHeaders): Identity {
    const token = bearerToken(headers);
    if (token === undefined) throw new PcxError('PCX_AUTH_MISSING', 'no bearer token: send metadata "authorization: Bearer <token>"');
    const digest = sha256(token);
    let found: Identity | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, digest) && found === undefined) found = e.identity;
    }
    if (!found) throw new PcxError('PCX_AUTH_INVALID', 'the bearer token is not valid');
    return found;
  }
}
