import type { CallHeaders } from '../identity/authenticator.js';

/** Where a call came from: the socket peer, and what the caller declares about itself. */
export interface Origin {
  readonly peerIp: string;
  readonly peerPort: number;
  readonly declaredHost: string;
  readonly containerId: string;
  readonly process: string;
  readonly userAgent: string;
  readonly agentConfigHash: string;
}

/**
 * Parses a grpc-js peer string: `1.2.3.4:5678`, `[::1]:5678`, optionally prefixed with
 * `ipv4:` / `ipv6:` (other gRPC stacks), or `unix:/path` (no ip). IPv4-mapped IPv6
 * addresses (`::ffff:1.2.3.4`) become plain IPv4 so that one client has one origin
 * whichever socket family the server bound.
 */
export function parsePeer(peer: string): { ip: string; port: number } {
  let s = peer.trim();
  if (s.startsWith('unix:')) return { ip: '', port: 0 };
  s = s.replace(/^ipv[46]:/i, '');
  let ip: string;
  let port = 0;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    ip = bracketed[1] ?? '';
    port = Number(bracketed[2] ?? 0);
  } else {
    const colons = s.split(':').length - 1;
    if (colons === 1) {
      const i = s.lastIndexOf(':');
      ip = s.slice(0, i);
      port = Number(s.slice(i + 1));
    } else {
      // A bare IPv6 address (no port) or something unknown: keep it whole.
      ip = s;
    }
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1] ?? ip;
  return { ip, port: Number.isInteger(port) && port >= 0 && port <= 65535 ? port : 0 };
}

/** Declared values are the caller's word, kept short so a caller cannot bloat every event. */
const MAX_DECLARED = 256;

function declared(headers: CallHeaders, key: string): string {
  return (headers[key] ?? '').slice(0, MAX_DECLARED);
}

export function originOf(peer: string, headers: CallHeaders): Origin {
  const { ip, port } = parsePeer(peer);
  return {
    peerIp: ip,
    peerPort: port,
    declaredHost: declared(headers, 'x-portcullis-host'),
    containerId: declared(headers, 'x-portcullis-container'),
    process: declared(headers, 'x-portcullis-process'),
    userAgent: declared(headers, 'user-agent'),
    agentConfigHash: declared(headers, 'x-portcullis-config-hash'),
  };
}

const ORIGIN_HEADERS = ['x-portcullis-host', 'x-portcullis-container', 'x-portcullis-process', 'user-agent', 'x-portcullis-config-hash'] as const;

/**
 * originOf, remembered per peer and declared values: a client's calls on one connection
 * share one frozen Origin, so the peer string is parsed once per connection and the
 * event encoder can reuse what it encoded for it. Bounded: emptied when full.
 */
export class OriginCache {
  private readonly byKey = new Map<string, Origin>();

  constructor(private readonly max = 4096) {}

  of(peer: string, headers: CallHeaders): Origin {
    let key = peer;
    for (const h of ORIGIN_HEADERS) key += `\u0000${headers[h] ?? ''}`;
    let o = this.byKey.get(key);
    if (o) return o;
    if (this.byKey.size >= this.max) this.byKey.clear();
    o = Object.freeze(originOf(peer, headers));
    this.byKey.set(key, o);
    return o;
  }
}
