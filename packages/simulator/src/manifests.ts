import { createHash } from 'node:crypto';
import type { DetectorsConfig } from '@portcullis/common';
import { Phase, pb, type IAccessEvent } from '@portcullis/proto';
import type { Agent } from './fleet.js';
import { hexOf } from './fleet.js';
import { chance, fork, intBetween, oneOf, shuffle, uuidV7 } from './random.js';
import { DAY, HOUR, MINUTE } from './time.js';
import { deployGenerations, type TrafficOptions } from './traffic.js';

/**
 * Agent runtime manifests and the change requests that approve their changes. Every
 * agent reports an AgentManifest (endpoints, env var names with value sha256,
 * secret-bearing flags) as a MANIFEST event at the start of each of its sessions. A
 * deploy (the generator's deploy generations) gives the agent a new build and sometimes
 * a rotated secret, a new service endpoint or another log level; the operator files an
 * APPROVED change request on portcullis.changes for each one, in window, scoped to the
 * agent, expecting exactly what changes. The config-drift injections are the changes
 * nobody filed, or filed for another window.
 */

/**
 * One record of the compacted changes topic as a consumer reads it: key = change_id,
 * value = an encoded ChangeRequest, or null (a tombstone: the request is withdrawn).
 */
export interface ChangeTopicRecord {
  readonly key: string;
  readonly value: Buffer | null;
}

/** A change request the scenario files: key = change_id, value = an encoded ChangeRequest. */
export interface ChangeRecord extends ChangeTopicRecord {
  readonly value: Buffer;
  readonly createdAt: number;
  /** Whether the record approves a benign deploy (false: the decoy filed for an out-of-window injection). */
  readonly benign: boolean;
}

export type DriftVariant = 'new-endpoint' | 'secret-changed' | 'out-of-window';

export const DRIFT_VARIANTS: readonly DriftVariant[] = ['new-endpoint', 'secret-changed', 'out-of-window'];

interface EnvVar {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

interface Manifest {
  readonly endpoints: readonly string[];
  readonly env: readonly EnvVar[];
}

/** A drift applied to an agent's manifests from `at` on (the changed config stays in place). */
export interface Drift {
  readonly at: number;
  readonly addEndpoints: readonly string[];
  readonly setEnv: readonly EnvVar[];
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function baseManifest(agent: Agent, seed: number): Manifest {
  const r = fork(seed, `manifest:${agent.subject}`);
  const prefix = agent.role.toUpperCase();
  return {
    endpoints: [`postgres://${agent.connection.targetHost}`, 'https://portcullis-gateway.internal:8443', ...agent.destinations.map((d) => `https://${d}.internal:443`)],
    env: [
      { name: 'LOG_LEVEL', value: 'info', secret: false },
      { name: 'BUILD_SHA', value: hexOf(r, 12), secret: false },
      { name: 'DB_PASSWORD', value: hexOf(r, 24), secret: true },
      { name: `${prefix}_UPSTREAM_CRED`, value: hexOf(r, 24), secret: true },
      { name: 'BATCH_SIZE', value: String(intBetween(r, 100, 5000)), secret: false },
      { name: 'TZ', value: agent.timeZone, secret: false },
    ],
  };
}

/** The manifest of each deploy generation, and what each deploy changed. */
function generationManifests(agent: Agent, traffic: TrafficOptions): Array<{ start: number; manifest: Manifest }> {
  const out = [{ start: traffic.from, manifest: baseManifest(agent, traffic.seed) }];
  for (const [start, g] of deployGenerations(agent, traffic).slice(1)) {
    const r = fork(traffic.seed, `manifest-deploy:${agent.subject}:${g}`);
    const prev = (out[out.length - 1] as { manifest: Manifest }).manifest;
    const env = new Map(prev.env.map((v) => [v.name, v]));
    env.set('BUILD_SHA', { name: 'BUILD_SHA', value: hexOf(r, 12), secret: false });
    if (chance(r, 0.35)) env.set('DB_PASSWORD', { name: 'DB_PASSWORD', value: hexOf(r, 24), secret: true });
    if (chance(r, 0.25)) env.set('LOG_LEVEL', { name: 'LOG_LEVEL', value: env.get('LOG_LEVEL')?.value === 'info' ? 'debug' : 'info', secret: false });
    let endpoints = [...prev.endpoints];
    if (chance(r, 0.3)) endpoints = [...endpoints.filter((e) => !e.includes('-svc-v')), `https://${agent.role}-svc-v${g + 1}.internal:443`];
    out.push({ start, manifest: { endpoints, env: [...env.values()] } });
  }
  return out;
}

function applyDrift(m: Manifest, drifts: readonly Drift[], t: number): Manifest {
  let out = m;
  for (const d of drifts) {
    if (t < d.at) continue;
    const env = new Map(out.env.map((v) => [v.name, v]));
    for (const v of d.setEnv) env.set(v.name, v);
    out = { endpoints: [...new Set([...out.endpoints, ...d.addEndpoints])], env: [...env.values()] };
  }
  return out;
}

function configHash(m: Manifest): string {
  const canon = JSON.stringify({ endpoints: [...m.endpoints].sort(), env: [...m.env].map((v) => [v.name, sha256(v.value), v.secret]).sort() });
  return sha256(canon).slice(0, 32);
}

function toProto(m: Manifest, t: number, sessionId: string): NonNullable<IAccessEvent['manifest']> {
  return { agentConfigHash: configHash(m), endpoints: [...m.endpoints], env: m.env.map((v) => ({ name: v.name, valueSha256: sha256(v.value), secretBearing: v.secret })), reportedAt: t, sessionId };
}

/** What differs between two manifests, as a change request would list it. */
function expectedOf(before: Manifest, after: Manifest): { endpoints: string[]; env: Array<{ name: string; valueSha256: string }> } {
  const b = new Set(before.endpoints);
  const a = new Set(after.endpoints);
  const endpoints = [...after.endpoints.filter((e) => !b.has(e)), ...before.endpoints.filter((e) => !a.has(e))];
  const old = new Map(before.env.map((v) => [v.name, v.value]));
  const env = after.env.filter((v) => old.get(v.name) !== v.value).map((v) => ({ name: v.name, valueSha256: sha256(v.value) }));
  for (const v of before.env) if (!after.env.some((x) => x.name === v.name)) env.push({ name: v.name, valueSha256: '' });
  return { endpoints, env };
}

interface ChangeSpec {
  changeId: string;
  scope: string;
  environment: string;
  digest?: string;
  endpoints?: string[];
  env?: Array<{ name: string; valueSha256: string }>;
  windowStart: number;
  windowEnd: number;
  createdAt: number;
  title: string;
}

export function encodeChange(c: ChangeSpec): Buffer {
  return Buffer.from(
    pb.ChangeRequest.encode({
      changeId: c.changeId,
      title: c.title,
      requestedBy: 'release-bot',
      approvedBy: 'user:platform-lead',
      scope: c.scope,
      kind: pb.ChangeKind.AGENT_MANIFEST,
      expected: { digest: c.digest ?? '', endpoints: c.endpoints ?? [], env: c.env ?? [], sections: [] },
      windowStart: c.windowStart,
      windowEnd: c.windowEnd,
      createdAt: c.createdAt,
      status: pb.ChangeStatus.CHANGE_APPROVED,
      revokedAt: 0,
      environment: c.environment,
    }).finish(),
  );
}

/** A config-drift injection as planned: the agent's session it first shows up in, the drift and (out-of-window) the decoy request. */
export interface DriftPlan {
  readonly agent: Agent;
  readonly variant: DriftVariant;
  readonly drift: Drift;
  readonly description: string;
  readonly decoy?: ChangeSpec;
  readonly expectBlock?: string;
  /** Filled by fleetManifests: the MANIFEST event that first reports the drift. */
  eventId?: string;
}

const PLANTED_ENDPOINTS = ['https://paste.example.net:443', 'https://webhook.site:443', 'smtp://personal-mail.example:587', 's3://backup-share-ext', 'https://198.51.100.7:8443', 'https://drive.example.com:443'];

/**
 * Plans the config-drift injections: `count` agents (distinct where the fleet allows),
 * variants in turn, each at one of the agent's own session starts in [from, to) that
 * is at least `spacing` from the agent's other injections.
 */
export function planDrifts(agents: readonly Agent[], sessions: ReadonlyMap<string, readonly number[]>, config: DetectorsConfig, traffic: TrafficOptions, from: number, to: number, count: number, busy: (agent: Agent, t: number) => boolean): DriftPlan[] {
  const r = fork(traffic.seed, 'injections:config-drift');
  const plans: DriftPlan[] = [];
  const pool = shuffle(r, agents);
  for (let i = 0; i < pool.length && plans.length < count; i++) {
    const agent = pool[i] as Agent;
    const starts = (sessions.get(agent.subject) ?? []).filter((t) => t >= from && t < to && !busy(agent, t));
    if (starts.length === 0) continue;
    const at = oneOf(r, starts);
    const variant = DRIFT_VARIANTS[plans.length % DRIFT_VARIANTS.length] as DriftVariant;
    const expectBlock = config.configDrift.block ? `identity:${agent.subject}` : undefined;
    const base = { agent, variant, ...(expectBlock ? { expectBlock } : {}) };
    if (variant === 'new-endpoint') {
      const endpoint = oneOf(r, PLANTED_ENDPOINTS);
      plans.push({ ...base, drift: { at, addEndpoints: [endpoint], setEnv: [] }, description: `manifest adds never-seen endpoint ${endpoint}, no change request` });
    } else if (variant === 'secret-changed') {
      const name = chance(r, 0.5) ? 'DB_PASSWORD' : `${agent.role.toUpperCase()}_UPSTREAM_CRED`;
      plans.push({ ...base, drift: { at, addEndpoints: [], setEnv: [{ name, value: `planted-${hexOf(r, 20)}`, secret: true }] }, description: `secret-bearing ${name} changed, no change request` });
    } else {
      const endpoint = `https://${agent.role}-svc-canary-${hexOf(r, 4)}.internal:443`;
      const early = chance(r, 0.5);
      const windowStart = early ? at + intBetween(r, 1, 3) * DAY : at - intBetween(r, 3, 5) * DAY;
      const windowEnd = windowStart + intBetween(r, 4, 20) * HOUR;
      const decoy: ChangeSpec = {
        changeId: `chg-sim-${agent.subject.slice(6)}-canary-${hexOf(r, 6)}`,
        title: `canary endpoint for ${agent.subject}`,
        scope: agent.subject,
        environment: traffic.environment,
        endpoints: [endpoint],
        windowStart,
        windowEnd,
        createdAt: Math.min(windowStart, at) - intBetween(r, 2, 30) * HOUR,
      };
      plans.push({ ...base, drift: { at, addEndpoints: [endpoint], setEnv: [] }, decoy, description: `manifest adds ${endpoint}; its approved change's window ${early ? 'opens later' : 'closed before'} (${new Date(windowStart).toISOString()} – ${new Date(windowEnd).toISOString()})` });
    }
  }
  return plans;
}

/**
 * The MANIFEST events of each agent's sessions (one per session start), with deploys'
 * changes and planned drifts in place, and the change requests the operator filed for
 * the deploys (plus the out-of-window decoys). Draws from its own forks of the seed, so
 * the rest of the traffic is unchanged.
 */
export function fleetManifests(agents: readonly Agent[], normal: ReadonlyMap<string, readonly IAccessEvent[]>, traffic: TrafficOptions, drifts: readonly DriftPlan[]): { events: IAccessEvent[]; changes: ChangeRecord[] } {
  const events: IAccessEvent[] = [];
  const changes: ChangeRecord[] = [];
  for (const agent of agents) {
    const r = fork(traffic.seed, `manifest-events:${agent.subject}`);
    const mine = drifts.filter((d) => d.agent.subject === agent.subject);
    const gens = generationManifests(agent, traffic);
    const firsts = sessionFirsts(normal.get(agent.subject) ?? []);
    const at = (t: number) => {
      let m = (gens[0] as { manifest: Manifest }).manifest;
      for (const g of gens) if (g.start <= t) m = g.manifest;
      return applyDrift(m, mine.map((d) => d.drift), t);
    };
    for (const first of firsts) {
      const t = Number(first.time);
      const id = uuidV7(r, t);
      const sessionId = first.sessionId ?? '';
      events.push({
        eventId: id,
        requestId: '',
        sessionId,
        time: t,
        phase: Phase.MANIFEST,
        environment: traffic.environment,
        gatewayId: first.gatewayId ?? '',
        ...(first.identity ? { identity: first.identity } : {}),
        ...(first.origin ? { origin: first.origin } : {}),
        ...(first.connection ? { connection: first.connection } : {}),
        manifest: toProto(at(t), t, sessionId),
      });
      for (const d of mine) if (d.eventId === undefined && t >= d.drift.at) d.eventId = id;
    }
    // One approved request per deploy that changed the manifest, filed ahead of it; its
    // window runs to the first report after the deploy (an agent reports at its next session).
    for (let i = 1; i < gens.length; i++) {
      const g = gens[i] as { start: number; manifest: Manifest };
      const before = at(g.start - 1);
      const after = at(g.start);
      const x = expectedOf(before, after);
      if (x.endpoints.length === 0 && x.env.length === 0) continue;
      const firstReport = firsts.map((e) => Number(e.time)).find((t) => t >= g.start) ?? g.start;
      const createdAt = g.start - intBetween(r, 2, 48) * HOUR;
      const byDigest = chance(r, 0.25);
      const spec: ChangeSpec = {
        changeId: `chg-sim-${agent.subject.slice(6)}-deploy-${i}`,
        title: `deploy ${i} of ${agent.subject}`,
        scope: agent.subject,
        environment: traffic.environment,
        ...(byDigest ? { digest: configHash(after) } : { endpoints: x.endpoints, env: x.env }),
        windowStart: g.start - 30 * MINUTE,
        windowEnd: Math.max(g.start + DAY, firstReport + HOUR),
        createdAt,
      };
      changes.push({ key: spec.changeId, value: encodeChange(spec), createdAt, benign: true });
    }
    for (const d of mine) if (d.decoy) changes.push({ key: d.decoy.changeId, value: encodeChange(d.decoy), createdAt: d.decoy.createdAt, benign: false });
  }
  changes.sort((a, b) => a.createdAt - b.createdAt || a.key.localeCompare(b.key));
  return { events, changes };
}

/** The first event of each session, in time order. */
function sessionFirsts(events: readonly IAccessEvent[]): IAccessEvent[] {
  const seen = new Map<string, IAccessEvent>();
  for (const e of events) {
    const s = e.sessionId ?? '';
    const prev = seen.get(s);
    if (!prev || Number(e.time) < Number(prev.time)) seen.set(s, e);
  }
  return [...seen.values()].sort((a, b) => Number(a.time) - Number(b.time));
}

/** Session start times per agent. */
export function sessionStartsOf(normal: ReadonlyMap<string, readonly IAccessEvent[]>): Map<string, number[]> {
  return new Map([...normal].map(([subject, list]) => [subject, sessionFirsts(list).map((e) => Number(e.time))]));
}

