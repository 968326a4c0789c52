import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * Where an agent says a command's results are going (ExecRequest.destination or the
 * `x-portcullis-destination` metadata), reduced to what the data-leakage detector keys
 * on: `scheme://host[:port]` for a URL, `host[:port]` for a bare host. User-info, path,
 * query and fragment are dropped — they carry tokens, signed-URL signatures and ids (and
 * would give every upload its own baseline); scheme and host are lower-cased, a trailing
 * dot and the default port of http, https, ws and wss are dropped (the web origin's
 * serialisation), an internationalised name becomes its punycode.
 *
 * An expected outcome, so a value: the edge turns a refusal into PCX_BAD_REQUEST. The
 * reason never quotes the input, which may be a secret.
 */
export type DestinationResult = { readonly ok: true; readonly destination: string } | { readonly ok: false; readonly reason: string };

/** Longest accepted input: room for a presigned URL; the normalised form is far shorter. */
export const MAX_DESTINATION_CHARS = 2048;

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443 };
const SCHEME_URL = /^([A-Za-z][A-Za-z0-9+.-]{0,31}):\/\/([^/?#]*)/;
// C0, DEL, C1 controls and any whitespace (including U+2028/9 and NBSP).
const CONTROL_OR_SPACE = /[\u0000-\u001f\u007f-\u009f\s]/u;
const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const NON_ASCII = /[^\u0000-\u007f]/u;

const SHAPE = 'must be a URL (scheme://host[:port]/…) or a host[:port]';

function refuse(reason: string): DestinationResult {
  return { ok: false, reason };
}

/** The empty string means "not declared" and stays empty. */
export function normalizeDestination(raw: string): DestinationResult {
  if (raw === '') return { ok: true, destination: '' };
  if (raw.length > MAX_DESTINATION_CHARS) return refuse(`is longer than ${MAX_DESTINATION_CHARS} characters`);
  if (CONTROL_OR_SPACE.test(raw)) return refuse('contains whitespace or a control character');
  const url = SCHEME_URL.exec(raw);
  if (url) {
    const scheme = (url[1] ?? '').toLowerCase();
    const authority = url[2] ?? '';
    // Parsers disagree on `\` in an authority (WHATWG reads it as `/` for http); refuse
    // rather than pick one reading of where the data goes.
    if (authority.includes('\\')) return refuse('has a backslash in its authority');
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    const hp = hostAndPort(hostPort);
    if (!hp.ok) return hp;
    const port = hp.port !== undefined && hp.port !== DEFAULT_PORTS[scheme] ? `:${hp.port}` : '';
    return { ok: true, destination: `${scheme}://${hp.host}${port}` };
  }
  if (/[/?#@]/.test(raw)) return refuse(`${SHAPE}; without a scheme, no user-info, path or query`);
  const hp = hostAndPort(raw);
  if (!hp.ok) return hp;
  return { ok: true, destination: `${hp.host}${hp.port !== undefined ? `:${hp.port}` : ''}` };
}

type HostPort = { readonly ok: true; readonly host: string; readonly port: number | undefined } | { readonly ok: false; readonly reason: string };

function hostAndPort(s: string): HostPort {
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(s);
  if (!m) return { ok: false, reason: `${SHAPE}: its host[:port] does not parse` };
  const host = normalizeHost(m[1] ?? '');
  if (host === undefined) return { ok: false, reason: `${SHAPE}: its host is not a host name or an IP address` };
  const digits = m[2] ?? '';
  if (digits === '') return { ok: true, host, port: undefined };
  const port = Number(digits);
  if (digits.length > 5 || port < 1 || port > 65535) return { ok: false, reason: 'has a port outside 1–65535' };
  return { ok: true, host, port };
}

function normalizeHost(raw: string): string | undefined {
  if (raw.startsWith('[')) {
    const v6 = raw.slice(1, -1);
    if (!isIPv6(v6)) return undefined;
    // The URL parser prints an IPv6 address in its one canonical (compressed, lower-case) form.
    return new URL(`http://[${v6}]/`).host;
  }
  let host = raw.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (NON_ASCII.test(host)) host = domainToASCII(host);
  return HOST_NAME.test(host) ? host : undefined;
}

/** gRPC metadata key an agent may set once per channel instead of per call. */
export const DESTINATION_HEADER = 'x-portcullis-destination';

/**
 * The declared destination of one call: ExecRequest.destination when set — it is the
 * more specific of the two, per command — else the `x-portcullis-destination` metadata
 * (a channel-wide default). Only the one used is checked; a refusal names it.
 */
export function declaredDestination(field: string | undefined, header: string | undefined): DestinationResult {
  const [source, raw] = field ? ['destination', field] : [DESTINATION_HEADER, header ?? ''];
  const r = normalizeDestination(raw);
  return r.ok ? r : refuse(`${source} ${r.reason}`);
}
