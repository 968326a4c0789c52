import type { ConnectionConfig } from '@portcullis/common';
import type { Identity } from '../identity/authenticator.js';

export type Access = 'read' | 'write' | 'admin';

const RANK: Record<Access, number> = { read: 1, write: 2, admin: 3 };

/**
 * The strongest access the connection's grants give this identity (by subject or by one
 * of its groups), or undefined for none.
 *
 * A connection with no grants at all is open to every authenticated caller with admin
 * access. That keeps the walking skeleton usable with a minimal config; issue 3 makes it
 * default-deny, and then an empty grants list will mean nobody.
 */
export function accessFor(identity: Identity, grants: ConnectionConfig['grants']): Access | undefined {
  if (grants.length === 0) return 'admin';
  let best: Access | undefined;
  for (const g of grants) {
    const matches = (g.subject !== undefined && g.subject === identity.subject) || (g.group !== undefined && identity.groups.includes(g.group));
    if (matches && (best === undefined || RANK[g.access] > RANK[best])) best = g.access;
  }
  return best;
}
