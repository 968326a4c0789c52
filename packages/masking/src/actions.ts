import { createHash, type Hash } from 'node:crypto';
import type { Secret } from '@portcullis/common';

/**
 * What happens to a sensitive value. Each action maps one value to its replacement and
 * never returns a substring of the value except the kept tail of `partial`.
 */
export type MaskAction =
  | { kind: 'redact'; token?: string | undefined }
  | { kind: 'partial'; keep: number }
  | { kind: 'token' };

/** `[REDACTED:<label>]`, or the configured fixed token. */
export function redact(label: string, token?: string): string {
  return token ?? `[REDACTED:${label}]`;
}

function isAlnumChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Keeps the last `keep` letters/digits and replaces every other letter or digit with
 * `*`, leaving separators where they were: `4111 1111 1111 1111` → `**** **** **** 1111`.
 * A value with fewer than twice `keep` such characters is masked entirely, since its
 * tail would be most of it.
 */
export function partial(value: string, keep = 4): string {
  let total = 0;
  for (let i = 0; i < value.length; i++) if (isAlnumChar(value.charCodeAt(i))) total++;
  const shown = total >= keep * 2 ? keep : 0;
  let seen = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!isAlnumChar(c)) {
      // Non-ASCII letters are masked too: only ASCII separators survive.
      out += c < 128 ? value[i] : '*';
      continue;
    }
    seen++;
    out += seen > total - shown ? value[i] : '*';
  }
  return out;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32 (lower case, no padding) of the first `chars * 5` bits of `bytes`. */
export function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  let i = 0;
  while (out.length < chars) {
    if (bits < 5) {
      acc = ((acc << 8) | (bytes[i++] ?? 0)) & 0xffff;
      bits += 8;
    }
    out += BASE32[(acc >> (bits - 5)) & 31];
    bits -= 5;
  }
  return out;
}

/**
 * Canonical form before tokenising, so that the same value written two ways gets one
 * token and masked columns still join: separators dropped and upper-cased for numbers
 * and IBANs, lower-cased for emails.
 */
export function normaliseForToken(label: string, value: string): string {
  switch (label) {
    case 'card':
    case 'ssn':
    case 'iban':
    case 'phone':
      return value.replace(/[^A-Za-z0-9]/g, '').toUpperCase();
    case 'email':
      return value.trim().toLowerCase();
    default:
      return value;
  }
}

/**
 * HMAC-SHA256 with the key's inner and outer pads hashed once (RFC 2104): each token then
 * costs two copies of a prepared hash state instead of a fresh createHmac and key schedule.
 */
class PreparedHmac {
  readonly #inner: Hash;
  readonly #outer: Hash;
  constructor(key: string) {
    let k = Buffer.from(key, 'utf8');
    if (k.length > 64) k = createHash('sha256').update(k).digest();
    const ipad = Buffer.alloc(64, 0x36);
    const opad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i] = (ipad[i] as number) ^ (k[i] as number);
      opad[i] = (opad[i] as number) ^ (k[i] as number);
    }
    this.#inner = createHash('sha256').update(ipad);
    this.#outer = createHash('sha256').update(opad);
  }
  mac(message: string): Buffer {
    return this.#outer.copy().update(this.#inner.copy().update(message).digest()).digest();
  }
}

const prepared = new WeakMap<Secret, PreparedHmac>();

const TOKEN_CHARS = 12;

/**
 * Deterministic token `tok_<label>_<12 base32 chars>`: HMAC-SHA256 keyed by the caller's
 * secret over label and normalised value. The label is inside the MAC so one value
 * under two labels gives two tokens; 60 bits keep accidental collisions negligible at
 * result-set sizes while not exposing the full MAC.
 */
export function tokenize(key: Secret, label: string, value: string): string {
  let h = prepared.get(key);
  if (!h) {
    h = new PreparedHmac(key.reveal());
    prepared.set(key, h);
  }
  const mac = h.mac(`${label}\u0000${normaliseForToken(label, value)}`);
  return `tok_${label}_${base32(mac, TOKEN_CHARS)}`;
}

export function applyAction(action: MaskAction, label: string, value: string, key: Secret | undefined): string {
  switch (action.kind) {
    case 'redact':
      return redact(label, action.token);
    case 'partial':
      return partial(value, action.keep);
    case 'token':
      // createRowMasker refuses token rules without a key; this guards direct callers.
      if (!key) return redact(label);
      return tokenize(key, label, value);
  }
}
