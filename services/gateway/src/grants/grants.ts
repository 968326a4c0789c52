import type { ConnectionConfig } from '@portcullis/common';
import type { CommandFacts } from '../analysis/command-analyzer.js';
import type { Identity } from '../identity/authenticator.js';

export type Access = 'read' | 'write' | 'admin';

const RANK: Record<Access, number> = { read: 1, write: 2, admin: 3 };

/**
 * The strongest access the connection's grants give this identity (by subject or by one
 * of its groups), or undefined for none. Default deny: a connection with no grants admits
 * nobody.
 */
export function accessFor(identity: Identity, grants: ConnectionConfig['grants']): Access | undefined {
  let best: Access | undefined;
  for (const g of grants) {
    const matches = (g.subject !== undefined && g.subject === identity.subject) || (g.group !== undefined && identity.groups.includes(g.group));
    if (matches && (best === undefined || RANK[g.access] > RANK[best])) best = g.access;
  }
  return best;
}

/**
 * Why a read grant refuses this command, or undefined when it may run: a write (by the
 * statement analysis, CTEs and every statement of a multi-statement string included), or
 * a statement that could not be analysed, since nothing then shows it only reads.
 * Oversized statements pass here so that guardrails answer PCX_PAYLOAD_TOO_LARGE.
 */
export function readOnlyRefusal(connection: string, facts: CommandFacts): string | undefined {
  if (facts.isWrite) return `your grant on ${connection} is read-only and this is a ${facts.statementType || 'write'}`;
  if (!facts.parsed && facts.statementType !== 'TOO_LARGE') return `your grant on ${connection} is read-only and this statement could not be analysed to show that it only reads`;
  return undefined;
}
