import type { ConfigDriftConfig } from '@portcullis/common';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import { ChangesView, type ApprovedChange } from '../changes/changes-view.js';
import { NO_FINDINGS, type Finding, type ScoreResult, type Scorer, type SeverityName } from '../scorer.js';

/**
 * Config drift: what an agent runs with (the manifest it reports at session start:
 * endpoints, environment variable names and value hashes) and what a gateway is
 * configured with (section digests), against the change requests approved on
 * portcullis.changes. A change no request in force covers is an alert; one that brings
 * an endpoint this agent was never seen with, or a new value of a secret-bearing
 * variable, is critical (a planted exfiltration endpoint, a swapped credential) and may
 * block the agent. Approved or not, the baseline moves to the reported manifest, so one
 * change alerts once and a benign re-report is silent.
 */
export const CONFIG_DRIFT = 'config-drift';

export type ConfigDriftSettings = Pick<ConfigDriftConfig, 'block' | 'blockTtlMs' | 'clockSkewMs' | 'maxKnownEndpoints' | 'baselineTtlMs' | 'secretNamePattern'>;

/** [name, value sha256, secret-bearing 0|1], sorted by name. */
export type EnvEntry = readonly [string, string, 0 | 1];

export interface AgentBaseline {
  readonly kind: 'agent';
  readonly configHash: string;
  /** Sorted, distinct. */
  readonly endpoints: readonly string[];
  readonly env: readonly EnvEntry[];
  /** Endpoints ever seen in a manifest of this agent, with their last sighting (bounded). */
  readonly known: ReadonlyArray<readonly [string, number]>;
  readonly last: number;
}

export interface GatewayBaseline {
  readonly kind: 'gateway';
  readonly digest: string;
  /** [section, digest], sorted by section. */
  readonly sections: ReadonlyArray<readonly [string, string]>;
  readonly last: number;
}

export type ConfigDriftState = { readonly kind: 'none' } | AgentBaseline | GatewayBaseline;

const NONE: ConfigDriftState = { kind: 'none' };
/** Defensive bounds; the gateway refuses larger manifests. */
const MAX_ENDPOINTS = 1024;
const MAX_ENV = 2048;
const MAX_SECTIONS = 4096;
/** Characters of a value hash an alert may quote. */
const HASH_PREFIX = 8;

export interface ConfigDriftScorer extends Scorer<ConfigDriftState> {
  /** The view of portcullis.changes this scorer reads; the runtime feeds it (sideInputs). */
  readonly changes: ChangesView;
}

export function createConfigDriftScorer(config: ConfigDriftSettings, options: { changesTopic: string; changes?: ChangesView }): ConfigDriftScorer {
  const changes = options.changes ?? new ChangesView();
  const secretName = new RegExp(config.secretNamePattern, 'i');
  return {
    name: CONFIG_DRIFT,
    changes,
    sideInputs: [{ topic: options.changesTopic, apply: (key, value) => changes.apply(key, value), phases: [Phase.MANIFEST, Phase.CONFIG] }],
    keyOf: driftKey,
    init: () => NONE,
    score: (state, e) => scoreConfigDrift(config, changes, secretName, state, e),
    evict: (state, now) => (state.kind === 'none' || now - state.last > config.baselineTtlMs ? undefined : state),
    sizeOf: sizeOfState,
    serialize: (s) => Buffer.from(JSON.stringify(s)),
    deserialize: (b) => JSON.parse(b.toString('utf8')) as ConfigDriftState,
  };
}

/** The agent's subject for a MANIFEST, `gateway:<id>` for a CONFIG; other events are not this scorer's. */
export function driftKey(e: IAccessEvent): string | undefined {
  if (e.phase === Phase.MANIFEST && e.manifest) return e.identity?.subject || undefined;
  if (e.phase === Phase.CONFIG && e.configChange) {
    const id = e.configChange.gatewayId || e.gatewayId;
    return id ? `gateway:${id}` : undefined;
  }
  return undefined;
}

export function scoreConfigDrift(config: ConfigDriftSettings, changes: ChangesView, secretName: RegExp, state: ConfigDriftState, e: IAccessEvent): ScoreResult<ConfigDriftState> {
  const key = driftKey(e);
  if (key === undefined) return { state, findings: NO_FINDINGS };
  if (e.phase === Phase.MANIFEST) return scoreManifest(config, changes, secretName, state.kind === 'agent' ? state : undefined, key, e);
  return scoreGatewayConfig(changes, config, state.kind === 'gateway' ? state : undefined, key, e);
}

// ── agents ─────────────────────────────────────────────────────────────────────────────

type AgentItem =
  | { type: 'endpoint-added' | 'endpoint-removed'; endpoint: string }
  | { type: 'env-added' | 'env-changed' | 'env-removed'; name: string; secret: boolean; oldSha: string; newSha: string }
  | { type: 'config-hash'; old: string; next: string };

function scoreManifest(config: ConfigDriftSettings, changes: ChangesView, secretName: RegExp, base: AgentBaseline | undefined, agent: string, e: IAccessEvent): ScoreResult<ConfigDriftState> {
  const m = e.manifest;
  const t = Number(e.time ?? 0);
  const endpoints = [...new Set((m?.endpoints ?? []).filter((x) => x !== ''))].sort().slice(0, MAX_ENDPOINTS);
  const envByName = new Map<string, EnvEntry>();
  for (const v of m?.env ?? []) if (v.name) envByName.set(v.name, [v.name, (v.valueSha256 ?? '').toLowerCase(), v.secretBearing ? 1 : 0]);
  const env = [...envByName.values()].sort((a, b) => cmp(a[0], b[0])).slice(0, MAX_ENV);
  const configHash = m?.agentConfigHash ?? '';

  const known = mergeKnown(base?.known ?? [], endpoints, t, config.maxKnownEndpoints);
  const next: AgentBaseline = { kind: 'agent', configHash, endpoints, env, known, last: Math.max(t, base?.last ?? 0) };
  // The first manifest is the baseline: nothing to compare it with.
  if (!base) return { state: next, findings: NO_FINDINGS };

  const items = diffManifest(base, next, secretName);
  if (items.length === 0) {
    // A benign re-report: the same state object unless the sightings need refreshing, and
    // even then no changelog write per report (the baseline TTL is days, not minutes).
    return { state: t - base.last > config.baselineTtlMs / 4 ? next : base, findings: NO_FINDINGS };
  }

  const inForce = changes.inForce('agent-manifest', agent, t, e.environment ?? '', config.clockSkewMs);
  const byDigest = configHash ? inForce.find((c) => c.digest === configHash) : undefined;
  const coveredBy = new Map<AgentItem, string>();
  if (byDigest) for (const it of items) coveredBy.set(it, byDigest.changeId);
  else {
    for (const it of items) {
      const c = it.type === 'config-hash' ? undefined : inForce.find((r) => coversAgentItem(r, it));
      if (c) coveredBy.set(it, c.changeId);
    }
    // An agent_config_hash that moved with otherwise approved items is part of that change,
    // as long as the approving request pins no other digest.
    const hash = items.find((it) => it.type === 'config-hash');
    if (hash && coveredBy.size > 0 && coveredBy.size === items.length - 1) {
      const first = inForce.find((r) => r.changeId === [...coveredBy.values()][0]);
      if (first && !first.digest) coveredBy.set(hash, first.changeId);
    }
  }
  const unapproved = items.filter((it) => !coveredBy.has(it));
  if (unapproved.length === 0) return { state: next, findings: NO_FINDINGS };

  const knownBefore = new Set((base.known ?? []).map(([x]) => x));
  const neverSeen = unapproved.flatMap((it) => (it.type === 'endpoint-added' && !knownBefore.has(it.endpoint) ? [it.endpoint] : []));
  const secretChanges = unapproved.flatMap((it) => ((it.type === 'env-changed' || it.type === 'env-added') && it.secret ? [it.name] : []));
  const critical = neverSeen.length > 0 || secretChanges.length > 0;
  const severity: SeverityName = critical ? 'critical' : 'high';
  const what = describeItems(unapproved);
  const eventId = e.eventId ?? '';
  const finding: Finding = {
    detector: CONFIG_DRIFT,
    key: agent,
    title: critical ? (neverSeen.length > 0 ? 'Agent runtime config adds a never-seen endpoint without an approved change' : 'Agent secret-bearing variable changed without an approved change') : 'Agent runtime config changed without an approved change',
    description: `Agent ${agent} reported a runtime manifest that differs from its last one (${what}); no approved change request in force for it covers ${unapproved.length === items.length ? 'the change' : `${unapproved.length} of the ${items.length} changes`}.`,
    severity,
    score: critical ? 0.95 : 0.75,
    // The diff is exact; what is uncertain is only whether someone forgot to file the change.
    confidence: 0.9,
    analytic: 'rule',
    subject: { kind: 'identity', value: agent },
    eventIds: eventId ? [eventId] : [],
    firstSeen: t,
    lastSeen: t,
    details: {
      agent,
      gateway_id: e.gatewayId ?? '',
      session_id: e.sessionId ?? '',
      changes: evidenceOf(items),
      unapproved: unapproved.map(itemLabel),
      approved: [...coveredBy].map(([it, id]) => ({ item: itemLabel(it), change_id: id })),
      never_seen_endpoints: neverSeen,
      secret_variables_changed: secretChanges,
      change_requests_in_force: inForce.map((c) => c.changeId),
      baseline_since: base.last,
    },
  };
  if (critical && config.block) {
    finding.block = {
      subject: { kind: 'identity', value: agent },
      ttlMs: config.blockTtlMs,
      reason: `config-drift: ${neverSeen.length > 0 ? `never-seen endpoint ${neverSeen.join(', ')}` : `secret-bearing variable ${secretChanges.join(', ')} changed`} without an approved change`,
    };
  }
  return { state: next, findings: [finding] };
}

function diffManifest(base: AgentBaseline, next: AgentBaseline, secretName: RegExp): AgentItem[] {
  const items: AgentItem[] = [];
  const before = new Set(base.endpoints);
  const after = new Set(next.endpoints);
  for (const x of next.endpoints) if (!before.has(x)) items.push({ type: 'endpoint-added', endpoint: x });
  for (const x of base.endpoints) if (!after.has(x)) items.push({ type: 'endpoint-removed', endpoint: x });
  const oldEnv = new Map(base.env.map((v) => [v[0], v]));
  const newEnv = new Map(next.env.map((v) => [v[0], v]));
  const secret = (name: string, flags: number[]) => flags.some((f) => f === 1) || secretName.test(name);
  for (const [name, v] of newEnv) {
    const o = oldEnv.get(name);
    if (!o) items.push({ type: 'env-added', name, secret: secret(name, [v[2]]), oldSha: '', newSha: v[1] });
    else if (o[1] !== v[1]) items.push({ type: 'env-changed', name, secret: secret(name, [o[2], v[2]]), oldSha: o[1], newSha: v[1] });
  }
  for (const [name, o] of oldEnv) if (!newEnv.has(name)) items.push({ type: 'env-removed', name, secret: secret(name, [o[2]]), oldSha: o[1], newSha: '' });
  if (base.configHash !== next.configHash) items.push({ type: 'config-hash', old: base.configHash, next: next.configHash });
  return items;
}

function coversAgentItem(r: ApprovedChange, it: AgentItem): boolean {
  switch (it.type) {
    case 'endpoint-added':
    case 'endpoint-removed':
      return r.endpoints.has(it.endpoint);
    case 'env-added':
    case 'env-changed':
    case 'env-removed': {
      const allowed = r.env.get(it.name);
      if (!allowed) return false;
      return allowed.size === 0 || (it.type !== 'env-removed' && allowed.has(it.newSha));
    }
    case 'config-hash':
      return r.digest !== '' && r.digest === it.next;
  }
}

function itemLabel(it: AgentItem): string {
  switch (it.type) {
    case 'endpoint-added':
    case 'endpoint-removed':
      return `${it.type} ${it.endpoint}`;
    case 'env-added':
    case 'env-changed':
    case 'env-removed':
      return `${it.type} ${it.name}`;
    case 'config-hash':
      return 'agent_config_hash';
  }
}

function describeItems(items: readonly AgentItem[]): string {
  const parts = items.slice(0, 5).map(itemLabel);
  return items.length > 5 ? `${parts.join(', ')} and ${items.length - 5} more` : parts.join(', ');
}

/** What changed, by name: values never, value hashes only as a short prefix. */
function evidenceOf(items: readonly AgentItem[]): Record<string, unknown> {
  const prefix = (s: string) => s.slice(0, HASH_PREFIX);
  const out = {
    endpoints_added: [] as string[],
    endpoints_removed: [] as string[],
    env_added: [] as Array<{ name: string; secret_bearing: boolean; sha256_prefix: string }>,
    env_changed: [] as Array<{ name: string; secret_bearing: boolean; old_sha256_prefix: string; new_sha256_prefix: string }>,
    env_removed: [] as string[],
    agent_config_hash: undefined as { old: string; new: string } | undefined,
  };
  for (const it of items) {
    if (it.type === 'endpoint-added') out.endpoints_added.push(it.endpoint);
    else if (it.type === 'endpoint-removed') out.endpoints_removed.push(it.endpoint);
    else if (it.type === 'env-added') out.env_added.push({ name: it.name, secret_bearing: it.secret, sha256_prefix: prefix(it.newSha) });
    else if (it.type === 'env-changed') out.env_changed.push({ name: it.name, secret_bearing: it.secret, old_sha256_prefix: prefix(it.oldSha), new_sha256_prefix: prefix(it.newSha) });
    else if (it.type === 'env-removed') out.env_removed.push(it.name);
    else if (it.type === 'config-hash') out.agent_config_hash = { old: it.old, new: it.next };
  }
  return out;
}

/** The endpoints seen so far plus this manifest's, least recently seen dropped over the bound. */
function mergeKnown(known: ReadonlyArray<readonly [string, number]>, endpoints: readonly string[], t: number, max: number): ReadonlyArray<readonly [string, number]> {
  const m = new Map<string, number>(known.map(([x, last]) => [x, last]));
  for (const x of endpoints) m.set(x, Math.max(m.get(x) ?? 0, t));
  let rows = [...m].sort((a, b) => cmp(a[0], b[0]));
  if (rows.length > max) {
    const keep = new Set([...rows].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0])).slice(0, max).map(([x]) => x));
    rows = rows.filter(([x]) => keep.has(x));
  }
  return rows;
}

// ── gateways ───────────────────────────────────────────────────────────────────────────

function scoreGatewayConfig(changes: ChangesView, config: ConfigDriftSettings, base: GatewayBaseline | undefined, key: string, e: IAccessEvent): ScoreResult<ConfigDriftState> {
  const cc = e.configChange;
  const t = Number(e.time ?? 0);
  const digest = cc?.newDigest ?? '';
  if (!cc || !digest) return { state: base ?? NONE, findings: NO_FINDINGS };
  const sectionMap = new Map<string, string>();
  for (const s of cc.sections ?? []) if (s.name) sectionMap.set(s.name, s.digest ?? '');
  const sections = [...sectionMap].sort((a, b) => cmp(a[0], b[0])).slice(0, MAX_SECTIONS);
  const next: GatewayBaseline = { kind: 'gateway', digest, sections, last: Math.max(t, base?.last ?? 0) };
  const prior = base?.digest ?? cc.oldDigest ?? '';
  // A gateway seen for the first time (and not saying what it changed from) is the baseline.
  if (!prior) return { state: next, findings: NO_FINDINGS };
  if (prior === digest) return { state: base && t - base.last <= config.baselineTtlMs / 4 ? base : next, findings: NO_FINDINGS };

  const changed = base && base.sections.length > 0 ? diffSections(base.sections, sections) : [...new Set(cc.changed ?? [])].sort();
  const gatewayId = key.slice('gateway:'.length);
  const inForce = changes.inForce('gateway-config', gatewayId, t, e.environment ?? '', config.clockSkewMs);
  const byDigest = inForce.find((c) => c.digest === digest);
  const approved = new Map<string, string>();
  if (byDigest) for (const s of changed) approved.set(s, byDigest.changeId);
  else
    for (const s of changed) {
      const c = inForce.find((r) => r.sections.some((p) => sectionMatches(p, s)));
      if (c) approved.set(s, c.changeId);
    }
  const unapproved = changed.filter((s) => !approved.has(s));
  // A digest change with no section named (an old gateway) is covered only by its digest.
  if (byDigest || (changed.length > 0 && unapproved.length === 0)) return { state: next, findings: NO_FINDINGS };

  const eventId = e.eventId ?? '';
  const finding: Finding = {
    detector: CONFIG_DRIFT,
    key,
    title: 'Gateway configuration changed without an approved change',
    description: `Gateway ${gatewayId} now runs config ${digest.slice(0, 12)} (was ${prior.slice(0, 12)}); ${unapproved.length > 0 ? `sections ${unapproved.slice(0, 8).join(', ')}${unapproved.length > 8 ? ' …' : ''} changed` : 'its digest changed'} with no approved change request in force covering it.`,
    severity: 'high',
    score: 0.75,
    confidence: 0.9,
    analytic: 'rule',
    subject: { kind: 'identity', value: key },
    eventIds: eventId ? [eventId] : [],
    firstSeen: t,
    lastSeen: t,
    details: {
      gateway_id: gatewayId,
      old_digest: prior,
      new_digest: digest,
      changed_sections: changed,
      unapproved_sections: unapproved,
      approved: [...approved].map(([section, id]) => ({ section, change_id: id })),
      change_requests_in_force: inForce.map((c) => c.changeId),
    },
  };
  return { state: next, findings: [finding] };
}

function diffSections(before: ReadonlyArray<readonly [string, string]>, after: ReadonlyArray<readonly [string, string]>): string[] {
  const a = new Map(before.map(([n, d]) => [n, d]));
  const b = new Map(after.map(([n, d]) => [n, d]));
  const out = new Set<string>();
  for (const [n, d] of b) if (a.get(n) !== d) out.add(n);
  for (const n of a.keys()) if (!b.has(n)) out.add(n);
  return [...out].sort();
}

function sectionMatches(pattern: string, section: string): boolean {
  return pattern.endsWith('*') ? section.startsWith(pattern.slice(0, -1)) : pattern === section;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sizeOfState(s: ConfigDriftState): number {
  if (s.kind === 'none') return 64;
  let bytes = 200;
  if (s.kind === 'agent') {
    bytes += s.configHash.length;
    for (const x of s.endpoints) bytes += 40 + x.length;
    for (const v of s.env) bytes += 96 + v[0].length + v[1].length;
    for (const [x] of s.known) bytes += 56 + x.length;
  } else {
    bytes += s.digest.length;
    for (const [n, d] of s.sections) bytes += 72 + n.length + d.length;
  }
  return bytes;
}
