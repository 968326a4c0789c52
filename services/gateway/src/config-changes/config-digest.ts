import { createHash } from 'node:crypto';
import type { GatewayConfig } from '@portcullis/common';
import type { ConnectionFacts } from '../events/event-builder.js';

/**
 * A gateway's configuration as the config-drift detector sees it: named sections, each
 * the sha256 of its canonical JSON, and one digest over them all. Only what shapes what
 * callers may do goes in — connections (name, kind, where they point), grants, guardrail,
 * masking and approval rules, who is known and who may file changes — and never a secret:
 * no URL, masking key, token or token hash.
 */
export interface ConfigDigest {
  readonly digest: string;
  /** Sorted by name. */
  readonly sections: ReadonlyArray<{ readonly name: string; readonly digest: string }>;
}

export function configDigest(gw: GatewayConfig, facts: ReadonlyMap<string, Pick<ConnectionFacts, 'targetHost' | 'targetDb'>>): ConfigDigest {
  const sections = new Map<string, unknown>();
  for (const c of gw.connections) {
    const f = facts.get(c.name);
    sections.set(`connection:${c.name}`, {
      kind: c.kind,
      targetHost: f?.targetHost ?? '',
      targetDb: f?.targetDb ?? '',
      display: c.display,
      audit: c.audit,
      statementTimeoutMs: c.statementTimeoutMs,
    });
    sections.set(`grants:${c.name}`, c.grants);
    sections.set(`guardrails:${c.name}`, c.guardrails);
    if (c.masking) {
      const { key, ...rules } = c.masking;
      sections.set(`masking:${c.name}`, { ...rules, keyed: key !== undefined });
    }
  }
  sections.set('approvals', { ...gw.approvals, webhookUrl: gw.approvals.webhookUrl ? 'set' : undefined });
  sections.set('identity', {
    tokens: gw.tokens.map((t) => ({ id: t.id, subject: t.subject, kind: t.kind, groups: t.groups })),
    oidc: gw.identity.oidc.map((o) => ({ issuer: o['issuer'], audience: o['audience'] })),
    acceptUnprefixedServiceTokens: gw.identity.acceptUnprefixedServiceTokens,
  });
  sections.set('changes', gw.changes);
  const out = [...sections].map(([name, v]) => ({ name, digest: sha256(canonicalJson(v)) })).sort((a, b) => (a.name < b.name ? -1 : 1));
  return { digest: sha256(out.map((s) => `${s.name}=${s.digest}\n`).join('')), sections: out };
}

/** The section names whose digests differ between two configs (added and removed ones included). */
export function changedSections(before: ConfigDigest, after: ConfigDigest): string[] {
  const a = new Map(before.sections.map((s) => [s.name, s.digest]));
  const b = new Map(after.sections.map((s) => [s.name, s.digest]));
  const out = new Set<string>();
  for (const [n, d] of b) if (a.get(n) !== d) out.add(n);
  for (const n of a.keys()) if (!b.has(n)) out.add(n);
  return [...out].sort();
}

/** JSON with object keys sorted and undefined members dropped, so equal configs hash alike. */
export function canonicalJson(v: unknown): string {
  if (v === undefined || v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
