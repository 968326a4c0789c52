import { readFileSync } from 'node:fs';
import { PcxError } from './errors.js';

const REDACTED = '[secret]';

/**
 * A resolved credential. It never prints itself: String(), JSON and util.inspect all
 * show `[secret]`, so a Secret passed to a logger, an error or an event by mistake
 * cannot leak. Only `reveal()` hands out the value, at the driver edge.
 */
export class Secret {
  readonly #value: string;
  /** Where it came from (`env:NAME`, `file:/path`), safe to show. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${this.source})`;
  }
}

const REF = /^\$\{(env|file):([^}]+)\}$/;

/**
 * Resolves a config value that names a credential by reference: `${env:NAME}` or
 * `${file:/path}` (the file's content, trailing newline trimmed). Inline literals are
 * refused so that credentials never sit in a config file. `env` is injected so that
 * process.env is read in one place per process.
 */
export function resolveSecretRef(ref: string, key: string, env: Readonly<Record<string, string | undefined>>): Secret {
  const m = REF.exec(ref.trim());
  if (!m) {
    throw new PcxError('PCX_CONFIG_INVALID', `${key}: credentials must be given by reference (\${env:NAME} or \${file:/path}), not inline`, { key });
  }
  const [, kind, name] = m as unknown as [string, 'env' | 'file', string];
  if (kind === 'env') {
    const v = env[name];
    if (v === undefined || v === '') throw new PcxError('PCX_CONFIG_INVALID', `${key}: environment variable ${name} is not set`, { key });
    return new Secret(v, `env:${name}`);
  }
  try {
    return new Secret(readFileSync(name, 'utf8').replace(/\r?\n$/, ''), `file:${name}`);
  } catch {
    throw new PcxError('PCX_CONFIG_INVALID', `${key}: cannot read credential file ${name}`, { key });
  }
}

export function isSecretRef(s: string): boolean {
  return REF.test(s.trim());
}
