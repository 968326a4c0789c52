import type { DataLeakageConfig } from '@portcullis/common';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import { NO_FINDINGS, type Finding, type ScoreResult, type Scorer, type SeverityName } from '../scorer.js';
import { admit } from '../stats/admit.js';
import { isLegacyJson, Reader, Writer } from '../stats/codec.js';
import { addMoment, NO_MOMENTS, stdOf, type Moments } from '../stats/moments.js';
import { escapeKeyPart, severityRank } from '../stats/severity.js';

/**
 * Data leakage: what an agent's responses carry to where they go. Each (agent,
 * destination) pair keeps decayed mean and variance of log bytes and log PII count per
 * response. Financial or identity records (card, IBAN, SSN detector hits) bound for a
 * destination that is new to the agent or — when an allowlist is configured — not on it
 * are critical and block the agent; responses far above the pair's byte or PII baseline
 * are high. An allowlisted destination is trusted even while it is new.
 */
export const DATA_LEAKAGE = 'data-leakage';

export interface DataLeakageState {
  /** Responses seen for this pair (capped), first and newest event time. */
  readonly n: number;
  readonly first: number;
  readonly last: number;
  /** Decayed moments of log1p(bytes) and log1p(total PII hits). */
  readonly bytes: Moments;
  readonly pii: Moments;
  /** Responses that carried sensitive records. */
  readonly sensitive: number;
  /** Event time and severity rank of the last finding, for the cooldown. */
  readonly findingAt: number;
  readonly findingRank: number;
  readonly recent: readonly number[];
}

export type DataLeakageSettings = Omit<DataLeakageConfig, 'enabled'>;

const EMPTY: DataLeakageState = { n: 0, first: 0, last: 0, bytes: NO_MOMENTS, pii: NO_MOMENTS, sensitive: 0, findingAt: 0, findingRank: -1, recent: [] };

/** The destination of a RESPONSE; empty means the gateway could not tell. */
export function destinationOf(e: IAccessEvent): string {
  return e.response?.destination || 'unknown';
}

/** `<agent subject>|<destination>`, with `|` escaped inside each part. */
export function leakageKey(subject: string, destination: string): string {
  return `${escapeKeyPart(subject)}|${escapeKeyPart(destination)}`;
}

export function createDataLeakageScorer(config: DataLeakageSettings): Scorer<DataLeakageState> {
  const sensitive = new Set(config.sensitivePii);
  const global = new Set(config.allowedDestinations);
  const perAgent = new Map(Object.entries(config.allowedDestinationsByAgent).map(([k, v]) => [k, new Set(v)]));
  const policy: LeakagePolicy = { sensitive, global, perAgent };
  return {
    name: DATA_LEAKAGE,
    keyOf: (e) => {
      if (e.phase !== Phase.RESPONSE) return undefined;
      const s = e.identity?.subject;
      return s ? leakageKey(s, destinationOf(e)) : undefined;
    },
    init: () => EMPTY,
    score: (state, e) => scoreDataLeakage(config, policy, state, e),
    evict: (state, now) => (state.last > 0 && now - state.last >= config.idleTtlMs ? undefined : state),
    sizeOf: (s) => 120 + 2 * 56 + 16 + s.recent.length * 8,
    serialize: serializeLeakage,
    deserialize: deserializeLeakage,
  };
}

export interface LeakagePolicy {
  readonly sensitive: ReadonlySet<string>;
  readonly global: ReadonlySet<string>;
  readonly perAgent: ReadonlyMap<string, ReadonlySet<string>>;
}

type MomentsRow = [number, number, number, number];
const momentsOf = ([w, mean, s, at]: MomentsRow): Moments => ({ w, mean, s, at });

/** Binary (stats/codec.ts), fields in declaration order. */
function serializeLeakage(s: DataLeakageState): Buffer {
  const w = new Writer();
  w.f64(s.n).f64(s.first).f64(s.last);
  w.f64(s.bytes.w).f64(s.bytes.mean).f64(s.bytes.s).f64(s.bytes.at);
  w.f64(s.pii.w).f64(s.pii.mean).f64(s.pii.s).f64(s.pii.at);
  return w.f64(s.sensitive).f64(s.findingAt).f64(s.findingRank).u32s(s.recent).finish();
}

function deserializeLeakage(b: Buffer): DataLeakageState {
  if (isLegacyJson(b)) {
    const [n, first, last, bytes, pii, sensitive, findingAt, findingRank, recent] = JSON.parse(b.toString('utf8')) as [
      number,
      number,
      number,
      MomentsRow,
      MomentsRow,
      number,
      number,
      number,
      number[],
    ];
    return { n, first, last, bytes: momentsOf(bytes), pii: momentsOf(pii), sensitive, findingAt, findingRank, recent };
  }
  const r = new Reader(b);
  const n = r.f64();
  const first = r.f64();
  const last = r.f64();
  const bytes: Moments = { w: r.f64(), mean: r.f64(), s: r.f64(), at: r.f64() };
  const pii: Moments = { w: r.f64(), mean: r.f64(), s: r.f64(), at: r.f64() };
  const state: DataLeakageState = { n, first, last, bytes, pii, sensitive: r.f64(), findingAt: r.f64(), findingRank: r.f64(), recent: r.u32s() };
  r.end();
  return state;
}

export function scoreDataLeakage(config: DataLeakageSettings, policy: LeakagePolicy, state: DataLeakageState, e: IAccessEvent): ScoreResult<DataLeakageState> {
  if (e.phase !== Phase.RESPONSE || !e.response) return { state, findings: NO_FINDINGS };
  const a = admit(e, state.last, state.recent, config.maxLatenessMs, config.dedupeWindow);
  if (!a) return { state, findings: NO_FINDINGS };
  const t = a.t;
  const subject = e.identity?.subject ?? '';
  const destination = destinationOf(e);
  const bytes = Number(e.response.bytes ?? 0);
  let piiTotal = 0;
  let sensitiveHits = 0;
  const sensitiveKinds: Record<string, number> = {};
  for (const p of e.response.pii ?? []) {
    const c = Number(p.count ?? 0);
    piiTotal += c;
    if (c > 0 && policy.sensitive.has(p.detector ?? '')) {
      sensitiveHits += c;
      sensitiveKinds[p.detector ?? ''] = (sensitiveKinds[p.detector ?? ''] ?? 0) + c;
    }
  }
  const xb = Math.log1p(bytes);
  const xp = Math.log1p(piiTotal);

  const isNew = state.n < config.newDestinationResponses || t - state.first < config.newDestinationMs;
  const agentList = policy.perAgent.get(subject);
  const enforced = policy.global.size > 0 || (agentList !== undefined && agentList.size > 0);
  const listed = policy.global.has(destination) || (agentList?.has(destination) ?? false);
  const mature = state.n >= config.maturityResponses;

  let severity: SeverityName | undefined;
  let score = 0;
  const rules: string[] = [];
  const details: Record<string, unknown> = { destination, bytes, pii_total: piiTotal, baseline_responses: state.n, new_destination: isNew, allowlist_enforced: enforced, allowlisted: listed };
  // "New destination" needs a destination: a response with none declared ('unknown') is
  // judged by the byte/PII baselines and the allowlist only, or every agent's first read
  // of PII would be critical.
  const declared = destination !== 'unknown';
  if (sensitiveHits > 0 && !listed && ((isNew && declared) || enforced)) {
    severity = 'critical';
    score = Math.min(1, 0.95 + 0.05 * (1 - Math.exp(-sensitiveHits / 100)));
    rules.push(isNew ? 'sensitive_to_new_destination' : 'sensitive_to_unlisted_destination');
    details.sensitive_records = sensitiveKinds;
  }
  if (mature) {
    const zb = (xb - state.bytes.mean) / Math.max(stdOf(state.bytes), config.minStd);
    const zp = (xp - state.pii.mean) / Math.max(stdOf(state.pii), config.minStd);
    details.bytes_z = zb;
    details.pii_z = zp;
    details.baseline_bytes = Math.expm1(state.bytes.mean);
    details.baseline_pii = Math.expm1(state.pii.mean);
    const excess = Math.max((zb - config.bytesZThreshold) / config.bytesZThreshold, piiTotal > 0 ? (zp - config.piiZThreshold) / config.piiZThreshold : -1);
    if (zb >= config.bytesZThreshold) rules.push('bytes_above_baseline');
    if (piiTotal > 0 && zp >= config.piiZThreshold) rules.push('pii_above_baseline');
    if (excess >= 0 && severity === undefined) {
      severity = 'high';
      score = 0.7 + 0.25 * (1 - Math.exp(-excess));
    }
  }

  const cooling = severity !== undefined && state.findingAt > 0 && t - state.findingAt < config.cooldownMs && severityRank(severity) <= state.findingRank;
  const raise = severity !== undefined && !cooling;
  const next: DataLeakageState = {
    n: Math.min(state.n + 1, 2 ** 31),
    first: state.first === 0 ? t : Math.min(state.first, t),
    last: a.last,
    bytes: addMoment(state.bytes, xb, t, config.halfLifeMs),
    pii: addMoment(state.pii, xp, t, config.halfLifeMs),
    sensitive: sensitiveHits > 0 ? Math.min(state.sensitive + 1, 2 ** 31) : state.sensitive,
    findingAt: raise ? t : state.findingAt,
    findingRank: raise ? severityRank(severity as SeverityName) : state.findingRank,
    recent: a.recent,
  };
  if (!raise || severity === undefined) return { state: next, findings: NO_FINDINGS };

  const finding: Finding = {
    detector: DATA_LEAKAGE,
    key: leakageKey(subject, destination),
    title: severity === 'critical' ? 'Sensitive records sent to an untrusted destination' : 'Response volume far above this destination’s baseline',
    description:
      severity === 'critical'
        ? `Agent ${subject} received ${sensitiveHits} financial or identity records (${Object.keys(sensitiveKinds).join(', ')}) bound for ${destination}, ` +
          (isNew ? `a destination new to it (${state.n} earlier responses).` : 'which is not on the allowlist.')
        : `Agent ${subject} received ${bytes} bytes with ${piiTotal} PII hits bound for ${destination}, far above that destination's baseline.`,
    severity,
    score,
    confidence: severity === 'critical' ? 0.9 : Math.min(1, state.n / (state.n + 20)),
    analytic: severity === 'critical' ? 'rule' : 'statistical',
    subject: { kind: 'identity', value: subject },
    eventIds: e.eventId ? [e.eventId] : [],
    firstSeen: t,
    lastSeen: t,
    details: { rules, ...details },
  };
  if (severity === 'critical' && config.block && subject) {
    finding.block = { subject: { kind: 'identity', value: subject }, ttlMs: config.blockTtlMs, reason: `${DATA_LEAKAGE}: sensitive records to ${destination}` };
  }
  return { state: next, findings: [finding] };
}
