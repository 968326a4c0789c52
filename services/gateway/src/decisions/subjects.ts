import type { Identity } from '../identity/authenticator.js';
import type { Origin } from '../origin/origin.js';

/**
 * The decision keys a call is checked against, as on portcullis.decisions:
 * `credential:<id>`, `identity:<subject>`, `origin:<peer_ip>|<declared_host>|<container_id>`,
 * `session:<id>`.
 */
export function subjectsOf(identity: Identity, origin: Origin, sessionId: string): string[] {
  return [
    `credential:${identity.credentialId}`,
    `identity:${identity.subject}`,
    originSubject(origin),
    `session:${sessionId}`,
  ];
}

export function originSubject(origin: Pick<Origin, 'peerIp' | 'declaredHost' | 'containerId'>): string {
  return `origin:${origin.peerIp}|${origin.declaredHost}|${origin.containerId}`;
}
