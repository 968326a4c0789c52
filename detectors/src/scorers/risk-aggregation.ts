import type { RiskAggregationConfig } from '@portcullis/common';
import type { IAccessEvent } from '@portcullis/proto';
import { alertIdOf } from '../alerts/ids.js';
import { subjectString, type Finding, type SeverityName, type SubjectRef } from '../scorer.js';
import { decayFactor } from '../stats/decay.js';
import { hashId, ringAdd, ringHas } from '../stats/event-ring.js';

/**
 * Risk aggregation: findings of every detector about one entity fold into one decayed
 * risk. Crossing `alertThreshold` opens an episode — ONE alert whose key stays fixed
 * while the episode lasts — later findings update it (only when the risk grew by
 * `updateStep` or its severity rose, so a storm of findings is not a storm of updates),
 * crossing `blockThreshold` asks for a block once per episode, and decay below
 * `closeThreshold` closes it. Consumes findings, not events; pure like the scorers.
 */
export const RISK_AGGREGATION = 'risk-aggregation';

export interface RiskEpisode {
  /** Stable alert id for the whole episode (= alertIdOf(update.finding)). */
  readonly alertKey: string;
  readonly openedAt: number;
  /** Event ids of the findings behind it, the opener first, bounded by maxEvidence. */
  readonly evidence: readonly string[];
  readonly blocked: boolean;
  /** Risk and severity last published, to judge whether another update is worth sending. */
  readonly publishedRisk: number;
  readonly severity: SeverityName;
}

export interface RiskState {
  readonly entity: SubjectRef;
  /** Decayed risk as of `at`. */
  readonly risk: number;
  readonly at: number;
  /** Decayed contribution per detector as of `at` (one entry per detector name). */
  readonly byDetector: readonly (readonly [string, number])[];
  readonly episode: RiskEpisode | undefined;
  /** Hashes of recently added findings, so a re-delivered finding does not count twice. */
  readonly recent: readonly number[];
}

export type RiskActivity = 'create' | 'update' | 'close';

export interface RiskUpdate {
  alertKey: string;
  /** 0..100. */
  riskScore: number;
  severity: SeverityName;
  activity: RiskActivity;
  block?: { subject: SubjectRef; ttlMs: number; reason: string };
  /** The episode as a Finding (detector `risk-aggregation`), ready for toDetectionFinding / decisionOf. */
  finding: Finding;
}

export interface RiskResult {
  state: RiskState;
  update?: RiskUpdate;
  /** When the finding arrived after the previous episode had decayed out: that episode's close. */
  closed?: RiskUpdate;
}

export type RiskAggregationSettings = Omit<RiskAggregationConfig, 'enabled'>;

export interface RiskAggregator {
  readonly name: string;
  /** The entity a finding is charged to: the agent behind the event when known, else the finding's subject. */
  entityOf(f: Finding, e?: IAccessEvent): SubjectRef;
  init(entity: SubjectRef): RiskState;
  add(state: RiskState, f: Finding, now: number): RiskResult;
  /** Decay to `now`; closes an episode whose risk fell below closeThreshold. */
  tick(state: RiskState, now: number): RiskResult;
  /** Undefined once nothing is left (no open episode, negligible risk); never drops an open episode. */
  evict(state: RiskState, now: number): RiskState | undefined;
  sizeOf(state: RiskState): number;
  serialize(state: RiskState): Buffer;
  deserialize(b: Buffer): RiskState;
}

/** Most detectors remembered per entity; more are folded into `other`. */
const MAX_DETECTORS = 32;
const RECENT_FINDINGS = 64;
/** Risk below which an entity without an open episode is forgotten. */
const NEGLIGIBLE_RISK = 0.5;

export function createRiskAggregator(config: RiskAggregationSettings): RiskAggregator {
  return {
    name: RISK_AGGREGATION,
    entityOf: (f, e) => {
      const subject = e?.identity?.subject;
      return subject ? { kind: 'identity', value: subject } : f.subject;
    },
    init: (entity) => ({ entity, risk: 0, at: 0, byDetector: [], episode: undefined, recent: [] }),
    add: (state, f, now) => addFinding(config, state, f, now),
    tick: (state, now) => tick(config, state, now),
    evict: (state, now) => {
      const r = decayedRisk(config, state, now);
      // An open episode is kept until tick() has published its close.
      return state.episode || r >= NEGLIGIBLE_RISK ? state : undefined;
    },
    sizeOf: (s) => {
      let bytes = 120 + 16 + s.entity.value.length + 16 + s.recent.length * 8;
      for (const [d] of s.byDetector) bytes += 8 + 32 + 16 + d.length + 8;
      if (s.episode) {
        bytes += 80 + 16 + s.episode.alertKey.length;
        for (const id of s.episode.evidence) bytes += 8 + 16 + id.length;
      }
      return bytes;
    },
    serialize: (s) =>
      Buffer.from(
        JSON.stringify([
          s.entity.kind,
          s.entity.value,
          s.risk,
          s.at,
          s.byDetector,
          s.episode ? [s.episode.alertKey, s.episode.openedAt, s.episode.evidence, s.episode.blocked ? 1 : 0, s.episode.publishedRisk, s.episode.severity] : null,
          s.recent,
        ]),
      ),
    deserialize: (b) => {
      const [kind, value, risk, at, byDetector, ep, recent] = JSON.parse(b.toString('utf8')) as [
        SubjectRef['kind'],
        string,
        number,
        number,
        Array<[string, number]>,
        [string, number, string[], number, number, SeverityName] | null,
        number[],
      ];
      const episode: RiskEpisode | undefined = ep
        ? { alertKey: ep[0], openedAt: ep[1], evidence: ep[2], blocked: ep[3] === 1, publishedRisk: ep[4], severity: ep[5] }
        : undefined;
      return { entity: { kind, value }, risk, at, byDetector, episode, recent };
    },
  };
}

function decayedRisk(config: RiskAggregationSettings, s: RiskState, now: number): number {
  return s.at === 0 ? s.risk : s.risk * decayFactor(now - s.at, config.halfLifeMs);
}

function severityOfRisk(config: RiskAggregationSettings, risk: number): SeverityName {
  if (risk >= config.blockThreshold) return 'critical';
  if (risk >= (config.alertThreshold + config.blockThreshold) / 2) return 'high';
  return 'medium';
}

const RANK: Record<SeverityName, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4, fatal: 5 };

/** Brings risk and contributions to `now` (never backwards). */
function decayTo(config: RiskAggregationSettings, s: RiskState, now: number): RiskState {
  if (s.at === 0 || now <= s.at) return s;
  const d = decayFactor(now - s.at, config.halfLifeMs);
  return { ...s, risk: s.risk * d, at: now, byDetector: s.byDetector.map(([k, v]) => [k, v * d] as const) };
}

function tick(config: RiskAggregationSettings, state: RiskState, now: number): RiskResult {
  const s = decayTo(config, state, now);
  if (!s.episode || s.risk >= config.closeThreshold) return { state: s === state ? state : s };
  const closed = updateOf(config, s, s.episode, 'close', now, undefined);
  return { state: { ...s, episode: undefined }, closed, update: closed };
}

export function addFinding(config: RiskAggregationSettings, state: RiskState, f: Finding, now: number): RiskResult {
  const h = hashId(`${f.detector}\u0000${f.key}\u0000${f.eventIds[0] ?? ''}\u0000${f.lastSeen}`);
  if (ringHas(state.recent, h)) return { state };
  // An episode that decayed out before this finding closes first; the finding may open the next.
  const ticked = tick(config, state, now);
  let s = ticked.state;
  const closed = ticked.closed;

  const weight = config.weights[f.detector] ?? 1;
  const points = config.severityPoints[f.severity] ?? 0;
  // A late finding counts with the decay it would have had by now.
  const late = s.at > 0 && now < s.at ? decayFactor(s.at - now, config.halfLifeMs) : 1;
  const contribution = weight * points * Math.max(0, Math.min(1, f.score)) * late;
  const at = s.at === 0 || now > s.at ? now : s.at;
  const byDetector = addContribution(s.byDetector, f.detector, contribution);
  const risk = s.risk + contribution;
  s = { ...s, risk, at, byDetector, recent: ringAdd(s.recent, h, RECENT_FINDINGS) };

  const evidenceIds = f.eventIds.filter((id) => id !== '');
  let episode = s.episode;
  if (!episode) {
    if (risk < config.alertThreshold) return { state: s, ...(closed ? { closed } : {}) };
    const opener = evidenceIds.slice(0, config.maxEvidence);
    const draft: RiskEpisode = { alertKey: '', openedAt: Math.min(f.firstSeen || now, now), evidence: opener, blocked: false, publishedRisk: Math.min(100, risk), severity: severityOfRisk(config, risk) };
    const alertKey = alertIdOf({ detector: RISK_AGGREGATION, key: subjectString(s.entity), eventIds: opener.length > 0 ? opener : [`${now}`] });
    episode = { ...draft, alertKey, evidence: opener.length > 0 ? opener : [`${now}`] };
    const blockNow = config.block && risk >= config.blockThreshold;
    episode = { ...episode, blocked: blockNow };
    s = { ...s, episode };
    return { state: s, update: updateOf(config, s, episode, 'create', now, blockNow ? f : undefined), ...(closed ? { closed } : {}) };
  }

  const evidence = mergeEvidence(episode.evidence, evidenceIds, config.maxEvidence);
  const severity = severityOfRisk(config, risk);
  const blockNow = config.block && !episode.blocked && risk >= config.blockThreshold;
  // Compared on the published 0..100 scale: past 100 more findings change nothing a SOC sees.
  const shown = Math.min(100, risk);
  const worth = blockNow || RANK[severity] > RANK[episode.severity] || (shown > episode.publishedRisk && shown >= Math.min(100, episode.publishedRisk * (1 + config.updateStep)));
  episode = { ...episode, evidence, blocked: episode.blocked || blockNow };
  if (!worth) return { state: { ...s, episode } };
  episode = { ...episode, publishedRisk: shown, severity: RANK[severity] > RANK[episode.severity] ? severity : episode.severity };
  s = { ...s, episode };
  return { state: s, update: updateOf(config, s, episode, 'update', now, blockNow ? f : undefined) };
}

function addContribution(list: RiskState['byDetector'], detector: string, c: number): RiskState['byDetector'] {
  const i = list.findIndex(([d]) => d === detector);
  if (i >= 0) return list.map((entry, j) => (j === i ? ([detector, entry[1] + c] as const) : entry));
  if (list.length < MAX_DETECTORS) return [...list, [detector, c] as const];
  // Past the bound, fold into the smallest entry's slot under a shared name.
  let min = 0;
  for (let j = 1; j < list.length; j++) if ((list[j] as readonly [string, number])[1] < (list[min] as readonly [string, number])[1]) min = j;
  return list.map((entry, j) => (j === min ? (['other', entry[1] + c] as const) : entry));
}

/** Keeps the opener (first id) and the most recent evidence, at most `max` ids. */
function mergeEvidence(evidence: readonly string[], add: readonly string[], max: number): readonly string[] {
  const fresh = add.filter((id) => !evidence.includes(id));
  if (fresh.length === 0) return evidence;
  const all = [...evidence, ...fresh];
  if (all.length <= max) return all;
  return [all[0] as string, ...all.slice(all.length - (max - 1))];
}

function updateOf(config: RiskAggregationSettings, s: RiskState, episode: RiskEpisode, activity: RiskActivity, now: number, trigger: Finding | undefined): RiskUpdate {
  const riskScore = Math.min(100, Math.round(s.risk));
  const entity = subjectString(s.entity);
  const contributions = Object.fromEntries([...s.byDetector].sort((a, b) => b[1] - a[1]).map(([d, v]) => [d, Math.round(v * 10) / 10]));
  const severity = episode.severity;
  const finding: Finding = {
    detector: RISK_AGGREGATION,
    key: entity,
    title: activity === 'close' ? `Risk of ${entity} back to normal` : `Elevated risk: ${entity}`,
    description:
      activity === 'close'
        ? `The accumulated risk of ${entity} decayed to ${riskScore}, below ${config.closeThreshold}; the episode opened at ${new Date(episode.openedAt).toISOString()} is closed.`
        : `Findings from ${Object.keys(contributions).join(', ')} add up to a decayed risk of ${riskScore} for ${entity}` +
          (episode.blocked ? ` (block threshold ${config.blockThreshold} crossed).` : '.'),
    severity,
    score: riskScore / 100,
    confidence: Math.min(1, episode.evidence.length / 5),
    analytic: 'learning',
    subject: s.entity,
    eventIds: [...episode.evidence],
    firstSeen: episode.openedAt,
    lastSeen: now,
    details: { risk: s.risk, contributions, opened_at: episode.openedAt, blocked: episode.blocked, activity },
  };
  const update: RiskUpdate = { alertKey: episode.alertKey, riskScore, severity, activity, finding };
  if (trigger) {
    const block = { subject: s.entity, ttlMs: config.blockTtlMs, reason: `${RISK_AGGREGATION}: risk ${riskScore} ≥ ${config.blockThreshold} (last: ${trigger.detector})` };
    update.block = block;
    finding.block = block;
  }
  return update;
}
