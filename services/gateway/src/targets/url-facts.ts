/**
 * What may be said about a target URL (host:port and database), and what must be
 * scrubbed from anything the target says (user, password, host, the URL itself).
 */
export interface UrlFacts {
  readonly hostPort: string;
  readonly database: string;
  /** Strings that must never leave the gateway, longest first. */
  readonly sensitive: readonly string[];
}

const DEFAULT_PORTS: Record<string, string> = { postgres: '5432', postgresql: '5432', mysql: '3306', http: '80', https: '443', ssh: '22' };

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function urlFacts(url: string): UrlFacts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Unparseable: say nothing about it, and scrub it whole.
    return { hostPort: '', database: '', sensitive: [url] };
  }
  const scheme = u.protocol.replace(/:$/, '');
  const socketHost = u.searchParams.get('host') ?? '';
  // libpq lets `?host=` override the authority (that is how a socket directory is given).
  const host = socketHost || u.hostname.replace(/^\[|\]$/g, '') || 'localhost';
  const port = u.port || DEFAULT_PORTS[scheme] || '';
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}${port ? `:${port}` : ''}`;
  const database = safeDecode(u.pathname.replace(/^\//, '')) || safeDecode(u.username);
  const sensitive = new Set<string>();
  for (const s of [url, u.username, safeDecode(u.username), u.password, safeDecode(u.password), host, socketHost, hostPort]) {
    if (s) sensitive.add(s);
  }
  return { hostPort, database, sensitive: [...sensitive].sort((a, b) => b.length - a.length) };
}

const REDACTED = '[redacted]';

/** Replaces every sensitive string in a message (case-insensitively) with `[redacted]`. */
export function scrub(message: string, sensitive: readonly string[]): string {
  let out = message;
  for (const s of sensitive) {
    if (!s) continue;
    out = out.replace(new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), REDACTED);
  }
  return out;
}
