import { createHash, randomBytes } from 'node:crypto';

/** A fresh bearer token: `pcx_` and 32 random bytes in base64url (43 characters). */
export function generateToken(): string {
  return `pcx_${randomBytes(32).toString('base64url')}`;
}

/** The hex SHA-256 the gateway's service-token config takes, so the token itself never sits in config. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
