import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PcxError, resolveSecretRef } from '@portcullis/common';
import { authInvalid } from './auth-error.js';
import type { Identity, IdentityKind } from './identity.js';

/**
 * Service tokens for callers without OIDC. A token is `pcx_` + 32 random bytes in
 * base64url: the prefix lets secret scanners and the authenticator recognise it, the
 * 256 random bits make guessing pointless. The store keeps only SHA-256 digests (a fast
 * hash is enough for 256-bit random secrets; there is nothing to brute-force), compares
 * the presented token's digest against every entry with timingSafeEqual and no early
 * exit, and is replaced wholesale by reload(), which is how a token is revoked.
 */
export const SERVICE_TOKEN_PREFIX = 'pcx_';
export const SERVICE_TOKEN_ISSUER = 'portcullis:service-token';
/** Longer than any token we generate by a wide margin; bounds hashing of junk. */
const MAX_TOKEN_CHARS = 512;

/** The shape of common's ServiceTokenConfig (gateway.tokens), with kind and groups optional. */
export interface ServiceTokenEntry {
  readonly id: string;
  readonly subject: string;
  readonly kind?: IdentityKind | undefined;
  readonly groups?: readonly string[] | undefined;
  /** Hex SHA-256 of the token. */
  readonly sha256?: string | undefined;
  /** Or a reference (`${env:NAME}`, `${file:/path}`) to the token itself, hashed on load. */
  readonly token?: string | undefined;
}

export interface GeneratedServiceToken {
  /** Hand this to the caller once; never store it. */
  readonly token: string;
  /** Put this in the config. */
  readonly sha256: string;
}

export function generateServiceToken(): GeneratedServiceToken {
  const token = SERVICE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, sha256: hashServiceToken(token) };
}

export function hashServiceToken(token: string): string {
  return digest(token).toString('hex');
}

export function looksLikeServiceToken(bearer: string): boolean {
  return bearer.startsWith(SERVICE_TOKEN_PREFIX);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

interface StoredToken {
  readonly digest: Buffer;
  readonly identity: Identity;
}

export interface ServiceTokenStoreOptions {
  /** For `token` references; process.env is read by the caller, not here. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class ServiceTokenStore {
  readonly #env: Readonly<Record<string, string | undefined>>;
  #entries: readonly StoredToken[] = [];

  constructor(tokens: readonly ServiceTokenEntry[] = [], opts: ServiceTokenStoreOptions = {}) {
    this.#env = opts.env ?? {};
    this.reload(tokens);
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Replaces the whole set atomically: tokens absent from `tokens` stop working at once.
   * When any entry is bad nothing changes and PCX_CONFIG_INVALID names it, so a broken
   * reload never leaves a half-applied set.
   */
  reload(tokens: readonly ServiceTokenEntry[]): void {
    const ids = new Set<string>();
    const digests = new Set<string>();
    const next = tokens.map((t, i): StoredToken => {
      const key = `gateway.tokens.${i}`;
      if (ids.has(t.id)) throw new PcxError('PCX_CONFIG_INVALID', `${key}.id: duplicate service token id ${t.id}`, { key });
      ids.add(t.id);
      if ((t.sha256 === undefined) === (t.token === undefined)) throw new PcxError('PCX_CONFIG_INVALID', `${key}: give exactly one of sha256 or token`, { key });
      let d: Buffer;
      if (t.sha256 !== undefined) {
        if (!/^[0-9a-f]{64}$/.test(t.sha256)) throw new PcxError('PCX_CONFIG_INVALID', `${key}.sha256: must be 64 lower-case hex digits`, { key });
        d = Buffer.from(t.sha256, 'hex');
      } else {
        d = digest(resolveSecretRef(t.token ?? '', `${key}.token`, this.#env).reveal());
      }
      const hex = d.toString('hex');
      if (digests.has(hex)) throw new PcxError('PCX_CONFIG_INVALID', `${key}: the same token is configured twice`, { key });
      digests.add(hex);
      return {
        digest: d,
        identity: Object.freeze({
          subject: t.subject,
          kind: t.kind ?? 'agent',
          groups: Object.freeze([...(t.groups ?? [])]),
          // The configured id as is, matching the gateway's service-token credential ids.
          credentialId: t.id,
          issuer: SERVICE_TOKEN_ISSUER,
        }),
      };
    });
    this.#entries = next;
  }

  verify(token: string): Identity {
    // The prefix is not checked here: routing (authenticator.ts) decides what reaches the store.
    if (token.length > MAX_TOKEN_CHARS) throw authInvalid('service token too long');
    const d = digest(token);
    let found: Identity | undefined;
    for (const e of this.#entries) {
      if (timingSafeEqual(e.digest, d) && found === undefined) found = e.identity;
    }
    if (found === undefined) throw authInvalid('service token is not valid (unknown or revoked)');
    return found;
  }
}
