import type { DataLeakageConfig } from '@portcullis/common';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import { NO_FINDINGS, pureScore, type Finding, type ScoreResult, type Scorer, type SeverityName, type StateUpdate } from '../scorer.js';
import { admitInPlace } from '../stats/admit.js';
import { isLegacyJson, Reader, Writer } from '../stats/codec.js';
import { addMomentInPlace, NO_MOMENTS, stdOf, type Moments } from '../stats/moments.js';
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
  n: number;
  first: number;
  last: number;
  /** Decayed moments of log1p(bytes) and log1p(total PII hits). */
  bytes: Moments;
  pii: Moments;
  /** Responses that carried sensitive records. */
  sensitive: number;
  /** Event time and severity rank of the last finding, for the cooldown. */
  findingAt: number;
  findingRank: number;
  recent: number[];
}

export type DataLeakageSettings = Omit<DataLeakageConfig, 'enabled'>;

function emptyLeakage(): DataLeakageState {
  return { n: 0, first: 0, last: 0, bytes: { ...NO_MOMENTS }, pii: { ...NO_MOMENTS }, sensitive: 0, findingAt: 0, findingRank: -1, recent: [] };
}

/** Moments and the ring copied: update() edits them in place. */
export function cloneLeakage(s: DataLeakageState): DataLeakageState {
  return { n: s.n, first: s.first, last: s.last, bytes: { ...s.bytes }, pii: { ...s.pii }, sensitive: s.sensitive, findingAt: s.findingAt, findingRank: s.findingRank, recent: s.recent.slice() };
}

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
  const update = (state: DataLeakageState, e: IAccessEvent): StateUpdate<DataLeakageState> => updateDataLeakage(config, policy, state, e);
  return {
    name: DATA_LEAKAGE,
    keyOf: (e) => {
      if (e.phase !== Phase.RESPONSE) return undefined;
      const s = e.identity?.subject;
      return s ? leakageKey(s, destinationOf(e)) : undefined;
    },
    init: emptyLeakage,
    update,
    clone: cloneLeakage,
    score: pureScore(cloneLeakage, update),
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

/** The pure form of the leakage step (tests, tools): `state` is never modified. */
export function scoreDataLeakage(config: DataLeakageSettings, policy: LeakagePolicy, state: DataLeakageState, e: IAccessEvent): ScoreResult<DataLeakageState> {
  const u = updateDataLeakage(config, policy, cloneLeakage(state), e);
  return { state: u.changed ? u.state : state, findings: u.findings };
}

/** One RESPONSE applied to `state` in place. */
export function updateDataLeakage(config: DataLeakageSettings, policy: LeakagePolicy, state: DataLeakageState, e: IAccessEvent): StateUpdate<DataLeakageState> {
  if (e.phase !== Phase.RESPONSE || !e.response) return { state, changed: false, findings: NO_FINDINGS };
  const t = admitInPlace(e, state.last, state.recent, config.maxLatenessMs, config.dedupeWindow);
  if (t === 0) return { state, changed: false, findings: NO_FINDINGS };
  const subject = e.identity?.subject ?? '';
  const destination = destinationOf(e);
  const bytes = Number(e.response.bytes ?? 0);
  let piiTotal = 0;
  let sensitiveHits = 0;
  // Built only when sensitive records are there (rare): the finding quotes them by kind.
  let sensitiveKinds: Record<string, number> | undefined;
  const pii = e.response.pii;
  if (pii) {
    for (const p of pii) {
      const c = Number(p.count ?? 0);
      piiTotal += c;
      if (c > 0 && policy.sensitive.has(p.detector ?? '')) {
        sensitiveHits += c;
        sensitiveKinds ??= {};
        sensitiveKinds[p.detector ?? ''] = (sensitiveKinds[p.detector ?? ''] ?? 0) + c;
      }
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
  // "New destination" needs a destination: a response with none declared ('unknown') is
  // judged by the byte/PII baselines and the allowlist only, or every agent's first read
  // of PII would be critical.
  const declared = destination !== 'unknown';
  const critical = sensitiveHits > 0 && !listed && ((isNew && declared) || enforced);
  if (critical) {
    severity = 'critical';
    score = Math.min(1, 0.95 + 0.05 * (1 - Math.exp(-sensitiveHits / 100)));
  }
  let zb = 0;
  let zp = 0;
  if (mature) {
    zb = (xb - state.bytes.mean) / Math.max(stdOf(state.bytes), config.minStd);
    zp = (xp - state.pii.mean) / Math.max(stdOf(state.pii), config.minStd);
    const excess = Math.max((zb - config.bytesZThreshold) / config.bytesZThreshold, piiTotal > 0 ? (zp - config.piiZThreshold) / config.piiZThreshold : -1);
    if (excess >= 0 && severity === undefined) {
      severity = 'high';
      score = 0.7 + 0.25 * (1 - Math.exp(-excess));
    }
  }

  const cooling = severity !== undefined && state.findingAt > 0 && t - state.findingAt < config.cooldownMs && severityRank(severity) <= state.findingRank;
  const raise = severity !== undefined && !cooling;
  // The finding quotes the baseline before this response: built before the state moves.
  const finding = raise && severity !== undefined ? leakageFinding(config, state, e, { subject, destination, bytes, piiTotal, sensitiveHits, sensitiveKinds, isNew, enforced, listed, critical, mature, zb, zp, severity, score, t }) : undefined;
  state.n = Math.min(state.n + 1, 2 ** 31);
  state.first = state.first === 0 ? t : Math.min(state.first, t);
  state.last = Math.max(state.last, t);
  addMomentInPlace(state.bytes, xb, t, config.halfLifeMs);
  addMomentInPlace(state.pii, xp, t, config.halfLifeMs);
  if (sensitiveHits > 0) state.sensitive = Math.min(state.sensitive + 1, 2 ** 31);
  if (raise) {
    state.findingAt = t;
    state.findingRank = severityRank(severity as SeverityName);
  }
  return { state, changed: true, findings: finding ? [finding] : NO_FINDINGS };
}

interface Judged {
  subject: string;
  destination: string;
  bytes: number;
  piiTotal: number;
  sensitiveHits: number;
  sensitiveKinds: Record<string, number> | undefined;
  isNew: boolean;
  enforced: boolean;
  listed: boolean;
  critical: boolean;
  mature: boolean;
  zb: number;
  zp: number;
  severity: SeverityName;
  score: number;
  t: number;
}

function leakageFinding(config: DataLeakageSettings, state: DataLeakageState, e: IAccessEvent, j: Judged): Finding {
  const { subject, destination, bytes, piiTotal, sensitiveHits, isNew, severity, t } = j;
  const sensitiveKinds = j.sensitiveKinds ?? {};
  const rules: string[] = [];
  const details: Record<string, unknown> = { destination, bytes, pii_total: piiTotal, baseline_responses: state.n, new_destination: isNew, allowlist_enforced: j.enforced, allowlisted: j.listed };
  if (j.critical) {
    rules.push(isNew ? 'sensitive_to_new_destination' : 'sensitive_to_unlisted_destination');
    details.sensitive_records = sensitiveKinds;
  }
  if (j.mature) {
    details.bytes_z = j.zb;
    details.pii_z = j.zp;
    details.baseline_bytes = Math.expm1(state.bytes.mean);
    details.baseline_pii = Math.expm1(state.pii.mean);
    if (j.zb >= config.bytesZThreshold) rules.push('bytes_above_baseline');
    if (piiTotal > 0 && j.zp >= config.piiZThreshold) rules.push('pii_above_baseline');
  }
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
    score: j.score,
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
  return finding;
}
