import { PcxError } from '@portcullis/common';

/**
 * One place that builds authentication failures, so every path says why in words a
 * caller can act on and none can echo the presented credential: the reason is always a
 * fixed phrase plus claim names or key ids, never token bytes.
 */
type Context = Record<string, string | number | boolean | undefined>;

export function authMissing(reason = 'no bearer token: send "authorization: Bearer <token>"'): PcxError {
  return new PcxError('PCX_AUTH_MISSING', reason, { reason });
}

export function authInvalid(reason: string, context: Context = {}): PcxError {
  return new PcxError('PCX_AUTH_INVALID', reason, { ...context, reason });
}

export function authExpired(reason: string, context: Context = {}): PcxError {
  return new PcxError('PCX_AUTH_EXPIRED', reason, { ...context, reason });
}

/** Values from an unverified token shown in a reason are cut short and stripped of control characters. */
export function printable(v: unknown, max = 80): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
