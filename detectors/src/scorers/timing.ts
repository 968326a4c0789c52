import type { TimingConfig } from '@portcullis/common';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import { NO_FINDINGS, pureScore, type AnalyticKind, type Finding, type ScoreResult, type Scorer, type SeverityName, type StateUpdate } from '../scorer.js';
import { admitInPlace } from '../stats/admit.js';
import { parseCron, cronMatches, type Cron } from '../stats/cron.js';
import { decayFactor, decayedExposure } from '../stats/decay.js';
import { hashId, ringHas, ringPush } from '../stats/event-ring.js';
import { poissonUpper } from '../stats/poisson.js';
import { atLeast } from '../stats/severity.js';
import { isLegacyJson, Reader, Writer } from '../stats/codec.js';
import { assertTimeZone, localFields, zoneOffset } from '../stats/time-zone.js';

/**
 * Timing: when an agent works. The unit is a run — the first REQUEST of a session not
 * seen before, or a REQUEST after `idleGapMs` of silence. A run is checked against
 *  - the agent's declared schedule (cron, in its time zone, ± tolerance): off-schedule;
 *  - for agents without one, a learned hour-of-week histogram of runs (decayed, gated on
 *    maturity): a run in an hour that almost never sees one is at an odd hour;
 *  - a Poisson model whose rate per hour-of-week comes from that same histogram: too
 *    many runs in one hour is a burst; a run that ends a silence the model expected to be
 *    broken long ago (P(no run in the gap) < alpha) is a silence. Silence is noticed when
 *    the next event arrives, since a pure scorer sees event time only.
 */
export const TIMING = 'timing';

const HOUR = 3_600_000;
const WEEK = 168 * HOUR;
const BINS = 168;

export interface TimingState {
  /** Newest REQUEST time. */
  last: number;
  /** Hashed ids of recent sessions. */
  sessions: number[];
  /** Decayed runs per local hour-of-week as of histAt; empty before the first run. */
  hist: number[];
  histAt: number;
  /** Runs counted (maturity) and the time of the first. */
  runs: number;
  first: number;
  /** The local hour the rate window covers (UTC ms of its start), runs in it, and whether it has raised a burst. */
  winStart: number;
  winRuns: number;
  burstRaised: boolean;
  recent: number[];
}

export type TimingSettings = Omit<TimingConfig, 'enabled'>;

export interface AgentPlan {
  readonly zone: string;
  readonly crons: readonly Cron[];
  readonly toleranceMs: number;
}

function emptyTiming(): TimingState {
  return { last: 0, sessions: [], hist: [], histAt: 0, runs: 0, first: 0, winStart: 0, winRuns: 0, burstRaised: false, recent: [] };
}

/** Every array copied: update() edits them in place. */
export function cloneTiming(s: TimingState): TimingState {
  return { last: s.last, sessions: s.sessions.slice(), hist: s.hist.slice(), histAt: s.histAt, runs: s.runs, first: s.first, winStart: s.winStart, winRuns: s.winRuns, burstRaised: s.burstRaised, recent: s.recent.slice() };
}

/** Builds the scorer; throws on a bad cron expression or time zone, naming the config key. */
export function createTimingScorer(config: TimingSettings): Scorer<TimingState> {
  const plans = new Map<string, AgentPlan>();
  try {
    assertTimeZone(config.defaultTimeZone);
  } catch (err) {
    throw new Error(`detectors.timing.defaultTimeZone: ${(err as Error).message}`);
  }
  for (const [subject, a] of Object.entries(config.agents)) {
    const where = `detectors.timing.agents[${JSON.stringify(subject)}]`;
    try {
      assertTimeZone(a.timeZone);
    } catch (err) {
      throw new Error(`${where}.timeZone: ${(err as Error).message}`);
    }
    const crons = a.cron.map((c, i) => {
      try {
        return parseCron(c);
      } catch (err) {
        throw new Error(`${where}.cron[${i}]: ${(err as Error).message}`);
      }
    });
    plans.set(subject, { zone: a.timeZone, crons, toleranceMs: a.toleranceMinutes * 60_000 });
  }
  const fallback: AgentPlan = { zone: config.defaultTimeZone, crons: [], toleranceMs: 0 };
  const planOf = (subject: string): AgentPlan => plans.get(subject) ?? fallback;
  const update = (state: TimingState, e: IAccessEvent): StateUpdate<TimingState> => updateTiming(config, planOf(e.identity?.subject ?? ''), state, e);
  return {
    name: TIMING,
    keyOf: (e) => {
      if (e.phase !== Phase.REQUEST) return undefined;
      const s = e.identity?.subject;
      return s ? s : undefined;
    },
    init: emptyTiming,
    update,
    clone: cloneTiming,
    score: pureScore(cloneTiming, update),
    evict: (state, now) => (state.last > 0 && now - state.last >= config.idleTtlMs ? undefined : state),
    sizeOf: (s) => 152 + 16 + s.hist.length * 8 + 16 + s.sessions.length * 8 + 16 + s.recent.length * 8,
    serialize: serializeTiming,
    deserialize: deserializeTiming,
  };
}

/** The pure form of the timing step (tests, tools): `state` is never modified. */
export function scoreTiming(config: TimingSettings, plan: AgentPlan, state: TimingState, e: IAccessEvent): ScoreResult<TimingState> {
  const u = updateTiming(config, plan, cloneTiming(state), e);
  return { state: u.changed ? u.state : state, findings: u.findings };
}

const UNCHANGED = (state: TimingState): StateUpdate<TimingState> => ({ state, changed: false, findings: NO_FINDINGS });

/** One REQUEST applied to `state` in place. */
export function updateTiming(config: TimingSettings, plan: AgentPlan, state: TimingState, e: IAccessEvent): StateUpdate<TimingState> {
  if (e.phase !== Phase.REQUEST) return UNCHANGED(state);
  const t = admitInPlace(e, state.last, state.recent, config.maxLatenessMs, config.dedupeWindow);
  if (t === 0) return UNCHANGED(state);
  const session = hashId(e.sessionId ?? '');
  const newSession = !ringHas(state.sessions, session);
  if (newSession) ringPush(state.sessions, session, config.maxRecentSessions);
  // A late REQUEST falls inside activity already seen: it cannot start a run.
  if (t < state.last) return { state, changed: true, findings: NO_FINDINGS };
  const isRun = state.last === 0 || newSession || t - state.last >= config.idleGapMs;
  if (!isRun) {
    state.last = t;
    return { state, changed: true, findings: NO_FINDINGS };
  }

  const offset = zoneOffset(plan.zone, t);
  const local = t + offset;
  const bin = binOf(local);
  const d = state.hist.length > 0 ? decayFactor(t - state.histAt, config.histogramHalfLifeMs) : 1;
  const hist = state.hist.length > 0 ? state.hist : ZERO_HIST;
  const weeks = state.first > 0 ? decayedExposure(state.first, t, config.histogramHalfLifeMs) / WEEK : 0;
  const mature = state.runs >= config.maturityRuns && state.first > 0 && t - state.first >= config.maturityWeeks * WEEK;

  const winStart = t - (((local % HOUR) + HOUR) % HOUR);
  const sameWindow = winStart === state.winStart;
  const winRuns = sameWindow ? state.winRuns + 1 : 1;
  let burstRaised = sameWindow && state.burstRaised;

  // Signals are rare: the list is allocated only for the first one.
  let signals: Signal[] | undefined;
  // Evidence, gathered as it is computed; the details object (and its ISO local time) is built only for a finding.
  let hourProbability: number | undefined;
  let burst: Record<string, number> | undefined;
  let silence: Record<string, number> | undefined;

  if (plan.crons.length > 0) {
    if (!onSchedule(plan, t)) (signals ??= []).push({ rule: 'off_schedule', score: 0.85, severity: 'high', analytic: 'rule' });
  } else if (mature) {
    let total = 0;
    for (const c of hist) total += c;
    const p = (hist[bin] as number) / (total + BINS * config.histogramPrior) + config.histogramPrior / (total + BINS * config.histogramPrior);
    hourProbability = p;
    if (p < config.oddHourProbability) (signals ??= []).push({ rule: 'odd_hour', score: 0.6 + 0.4 * (1 - p / config.oddHourProbability), severity: 'medium', analytic: 'statistical' });
  }

  if (mature && weeks > 0) {
    if (winRuns >= config.burstMinRuns && !burstRaised) {
      // The window's earlier runs are already in the histogram: leave them out of the rate
      // they are tested against, or a burst would raise its own expectation.
      const mu = (Math.max(0, (hist[bin] as number) * d - (winRuns - 1)) + config.histogramPrior) / weeks;
      const p = poissonUpper(winRuns, mu);
      if (p < config.poissonAlpha) {
        burstRaised = true;
        burst = { runs_this_hour: winRuns, expected: mu, p_value: p };
        (signals ??= []).push({ rule: 'burst', score: Math.min(1, 0.7 + 0.03 * -Math.log10(p / config.poissonAlpha)), severity: p < config.poissonAlpha / 100 ? 'high' : 'medium', analytic: 'statistical' });
      }
    }
    if (state.last > 0 && t - state.last >= config.idleGapMs) {
      const rate = (b: number): number => ((hist[b] as number) * d + config.histogramPrior) / weeks;
      const mu = expectedRuns(rate, state.last + offset, local);
      const p = Math.exp(-mu);
      if (p < config.poissonAlpha) {
        silence = { silent_ms: t - state.last, expected_runs: mu, p_value: p };
        (signals ??= []).push({ rule: 'silence', score: 0.6, severity: 'medium', analytic: 'statistical' });
      }
    }
  }

  // The finding quotes the state before this run; everything is read, so the state can now move.
  const before = signals ? { runs: state.runs, last: state.last } : undefined;
  if (state.hist.length === 0) state.hist = new Array<number>(BINS).fill(0);
  const h = state.hist;
  for (let i = 0; i < BINS; i++) h[i] = (h[i] as number) * d;
  h[bin] = (h[bin] as number) + 1;
  state.last = t;
  state.histAt = t;
  state.runs = Math.min(state.runs + 1, 2 ** 31);
  if (state.first === 0) state.first = t;
  state.winStart = winStart;
  state.winRuns = winRuns;
  state.burstRaised = burstRaised;
  if (!signals || !before) return { state, changed: true, findings: NO_FINDINGS };
  const details: Record<string, unknown> = { time_zone: plan.zone, local_time: new Date(local).toISOString().slice(0, 16), hour_of_week: bin };
  if (plan.crons.length > 0) details.schedule = plan.crons.map((c) => c.source);
  if (hourProbability !== undefined) details.hour_probability = hourProbability;
  if (burst) details.burst = burst;
  if (silence) details.silence = silence;
  return { state, changed: true, findings: [findingOf(config, signals, e, t, before, details)] };
}

interface Signal {
  rule: 'off_schedule' | 'odd_hour' | 'burst' | 'silence';
  score: number;
  severity: SeverityName;
  analytic: AnalyticKind;
}

const ZERO_HIST: readonly number[] = new Array<number>(BINS).fill(0);

const TITLES: Record<Signal['rule'], string> = {
  off_schedule: 'Agent ran outside its declared schedule',
  odd_hour: 'Agent ran at an hour it almost never runs',
  burst: 'Agent runs far more often than usual',
  silence: 'Agent resumed after an unexpectedly long silence',
};

const DAY = 24 * HOUR;

/** Local hour of the week (0 = Sunday 00:00): plain arithmetic on local ms (1970-01-01 was a Thursday). */
function binOf(local: number): number {
  const days = Math.floor(local / DAY);
  const dayOfWeek = (((days + 4) % 7) + 7) % 7;
  const hour = Math.floor((local - days * DAY) / HOUR);
  return dayOfWeek * 24 + hour;
}

/**
 * Binary (stats/codec.ts). The histogram is sparse for young agents: a presence flag,
 * then a 168-bit map of the non-zero bins (21 bytes) and their values.
 */
function serializeTiming(s: TimingState): Buffer {
  const w = new Writer();
  w.f64(s.last).u32s(s.sessions);
  if (s.hist.length === 0) w.u8(0);
  else {
    w.u8(1);
    for (let byte = 0; byte < BINS / 8; byte++) {
      let bits = 0;
      for (let k = 0; k < 8; k++) if ((s.hist[byte * 8 + k] as number) !== 0) bits |= 1 << k;
      w.u8(bits);
    }
    for (let i = 0; i < BINS; i++) if ((s.hist[i] as number) !== 0) w.f64(s.hist[i] as number);
  }
  return w.f64(s.histAt).f64(s.runs).f64(s.first).f64(s.winStart).f64(s.winRuns).u8(s.burstRaised ? 1 : 0).u32s(s.recent).finish();
}

function deserializeTiming(b: Buffer): TimingState {
  if (isLegacyJson(b)) {
    const [last, sessions, hist, histAt, runs, first, winStart, winRuns, burstRaised, recent] = JSON.parse(b.toString('utf8')) as [
      number,
      number[],
      number[],
      number,
      number,
      number,
      number,
      number,
      number,
      number[],
    ];
    return { last, sessions, hist, histAt, runs, first, winStart, winRuns, burstRaised: burstRaised === 1, recent };
  }
  const r = new Reader(b);
  const last = r.f64();
  const sessions = r.u32s();
  let hist: number[] = [];
  if (r.u8() === 1) {
    hist = new Array<number>(BINS).fill(0);
    const bits: number[] = [];
    for (let byte = 0; byte < BINS / 8; byte++) bits.push(r.u8());
    for (let i = 0; i < BINS; i++) if ((((bits[i >> 3] as number) >> (i & 7)) & 1) === 1) hist[i] = r.f64();
  }
  const state: TimingState = { last, sessions, hist, histAt: r.f64(), runs: r.f64(), first: r.f64(), winStart: r.f64(), winRuns: r.f64(), burstRaised: r.u8() === 1, recent: r.u32s() };
  r.end();
  return state;
}

/** Whether some cron minute falls within ± tolerance of t (read in the agent's zone at each end). */
function onSchedule(plan: AgentPlan, t: number): boolean {
  const from = Math.floor((t - plan.toleranceMs) / 60_000) * 60_000;
  const to = t + plan.toleranceMs;
  const offFrom = zoneOffset(plan.zone, from);
  const offTo = zoneOffset(plan.zone, to);
  for (let m = from; m <= to; m += 60_000) {
    const l = localFields(m + offFrom);
    for (const c of plan.crons) if (cronMatches(c, l)) return true;
  }
  if (offFrom === offTo) return false;
  // A DST change inside the window: a job due in the skipped (or repeated) hour runs by the
  // other offset's clock, so a run matching under either offset is on schedule.
  for (let m = from; m <= to; m += 60_000) {
    const l = localFields(m + offTo);
    for (const c of plan.crons) if (cronMatches(c, l)) return true;
  }
  return false;
}

/** Expected runs between two local times under per-hour-of-week rates (whole weeks in one step). */
function expectedRuns(rate: (bin: number) => number, fromLocal: number, toLocal: number): number {
  let mu = 0;
  const span = toLocal - fromLocal;
  const weeks = Math.floor(span / WEEK);
  if (weeks > 0) {
    let perWeek = 0;
    for (let b = 0; b < BINS; b++) perWeek += rate(b);
    mu += weeks * perWeek;
  }
  let cursor = fromLocal + weeks * WEEK;
  while (cursor < toLocal) {
    const hourEnd = Math.floor(cursor / HOUR) * HOUR + HOUR;
    const seg = Math.min(hourEnd, toLocal) - cursor;
    mu += rate(binOf(cursor)) * (seg / HOUR);
    cursor = hourEnd;
  }
  return mu;
}

function findingOf(config: TimingSettings, signals: Signal[], e: IAccessEvent, t: number, before: { runs: number; last: number }, details: Record<string, unknown>): Finding {
  const top = signals.reduce((a, b) => (b.score > a.score ? b : a));
  const subject = e.identity?.subject ?? '';
  const rules = signals.map((s) => s.rule);
  const finding: Finding = {
    detector: TIMING,
    key: subject,
    title: TITLES[top.rule],
    description: `Agent ${subject} started a run at ${String(details.local_time)} (${String(details.time_zone)}): ${rules.join(', ').replace(/_/g, ' ')}.`,
    severity: top.severity,
    score: top.score,
    confidence: top.rule === 'off_schedule' ? 0.9 : Math.min(1, before.runs / (before.runs + 30)),
    analytic: top.analytic,
    subject: { kind: 'identity', value: subject },
    eventIds: e.eventId ? [e.eventId] : [],
    firstSeen: t,
    lastSeen: t,
    details: { rules, baseline_runs: before.runs, previous_activity: before.last || undefined, ...details },
  };
  if (config.block && atLeast(top.severity, config.blockSeverity) && subject) {
    finding.block = { subject: { kind: 'identity', value: subject }, ttlMs: config.blockTtlMs, reason: `${TIMING}: ${rules.join('+')}` };
  }
  return finding;
}
