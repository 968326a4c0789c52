import { describe, it, expect } from 'vitest';
import type { IAccessEvent } from '@portcullis/proto';
import { createTimingScorer, type Finding, type Scorer, type TimingSettings, type TimingState } from '../src/index.js';
import { prng, gaussian, request, T0, MINUTE, HOUR, DAY, WEEK } from './fixtures/agent-traffic.js';
import { zoneOffset } from '../src/stats/time-zone.js';

const base: TimingSettings = {
  agents: {},
  defaultTimeZone: 'UTC',
  idleGapMs: 30 * MINUTE,
  histogramHalfLifeMs: 28 * DAY,
  maturityRuns: 30,
  maturityWeeks: 2,
  histogramPrior: 0.1,
  oddHourProbability: 0.001,
  poissonAlpha: 1e-4,
  burstMinRuns: 3,
  maxRecentSessions: 16,
  maxLatenessMs: 5 * MINUTE,
  dedupeWindow: 32,
  idleTtlMs: 90 * DAY,
  block: false,
  blockSeverity: 'high',
  blockTtlMs: HOUR,
};

function run(scorer: Scorer<TimingState>, events: readonly IAccessEvent[], state = scorer.init()): { state: TimingState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) {
    const r = scorer.score(state, e);
    state = r.state;
    findings.push(...r.findings);
  }
  return { state, findings };
}

let sessions = 0;
/** One run: a new session with a few REQUESTs a minute or two apart. */
function runAt(agent: string, t: number, rand: () => number): IAccessEvent[] {
  sessions += 1;
  const id = `s-${agent}-${sessions}`;
  const n = 2 + Math.floor(rand() * 4);
  return Array.from({ length: n }, (_, i) => request(agent, t + i * Math.floor(30_000 + rand() * 60_000), id));
}

/** UTC instant of a local wall-clock time in `zone` (good to the minute away from DST gaps). */
function localToUtc(zone: string, y: number, m: number, d: number, h: number, mi: number): number {
  const wall = Date.UTC(y, m, d, h, mi);
  const a = wall - zoneOffset(zone, wall);
  const b = wall - zoneOffset(zone, a);
  if (a + zoneOffset(zone, a) === wall) return a;
  if (b + zoneOffset(zone, b) === wall) return b;
  // A wall time skipped by DST: cron runs it right after the change.
  return Math.max(a, b);
}

/** A daily job at 02:00 local ± 10 min, over `days` days from 2025-02-01 (crossing the March DST change). */
function nightly(agent: string, zone: string, days: number, rand: () => number): IAccessEvent[] {
  const out: IAccessEvent[] = [];
  for (let d = 0; d < days; d++) out.push(...runAt(agent, localToUtc(zone, 2025, 1, 1 + d, 2, 0) + Math.round((rand() * 2 - 1) * 10 * MINUTE), rand));
  return out;
}

/** An office-hours agent: weekdays 09:00–17:00 local, a run about every hour (jittered), `weeks` weeks from T0. */
function officeHours(agent: string, zone: string, weeks: number, rand: () => number, skipDays: ReadonlySet<number> = new Set()): IAccessEvent[] {
  const out: IAccessEvent[] = [];
  for (let day = 0; day < weeks * 7; day++) {
    const dow = (1 + day) % 7; // T0 is a Monday
    if (dow === 0 || dow === 6 || skipDays.has(day)) continue;
    const date = new Date(T0 + day * DAY);
    for (let h = 9; h < 17; h++) {
      const t = localToUtc(zone, date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), h, 0) + Math.round(Math.abs(gaussian(rand)) * 8 * MINUTE);
      out.push(...runAt(agent, t, rand));
    }
  }
  return out;
}

describe('timing scorer: declared schedules', () => {
  const zone = 'America/New_York';
  const scheduled: TimingSettings = { ...base, agents: { 'agent:etl': { timeZone: zone, cron: ['0 2 * * *'], toleranceMinutes: 15 } } };

  it('accepts a nightly job at 02:00 New York time across the DST change, and flags a 03:30 run', () => {
    const scorer = createTimingScorer(scheduled);
    const rand = prng(21);
    const benign = nightly('agent:etl', zone, 60, rand);
    const { state, findings } = run(scorer, benign);
    expect(findings).toEqual([]);
    const odd = runAt('agent:etl', localToUtc(zone, 2025, 3, 2, 3, 30), rand);
    const r = run(scorer, odd, state);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'high', analytic: 'rule', subject: { kind: 'identity', value: 'agent:etl' }, details: { rules: ['off_schedule'], time_zone: zone } });
  });

  it('reads the schedule in the agent time zone, not UTC', () => {
    const scorer = createTimingScorer(scheduled);
    // 02:00 UTC is 21:00 or 22:00 the day before in New York: off schedule there.
    const r = run(scorer, runAt('agent:etl', Date.UTC(2025, 3, 2, 2, 0), prng(22)));
    expect(r.findings[0]?.details.rules).toEqual(['off_schedule']);
  });

  it('names the config key of a bad cron expression or time zone', () => {
    expect(() => createTimingScorer({ ...base, agents: { 'agent:x': { timeZone: 'UTC', cron: ['0 25 * * *'], toleranceMinutes: 5 } } })).toThrow(/agents\["agent:x"\]\.cron\[0\]/);
    expect(() => createTimingScorer({ ...base, agents: { 'agent:x': { timeZone: 'Nowhere/City', cron: [], toleranceMinutes: 5 } } })).toThrow(/agents\["agent:x"\]\.timeZone/);
  });
});

describe('timing scorer: learned hours and run rate', () => {
  const zone = 'Europe/Berlin';
  const learned: TimingSettings = { ...base, agents: { 'agent:office': { timeZone: zone, cron: [], toleranceMinutes: 0 } } };

  it('learns office hours without false positives, then flags a 03:00 run on a Wednesday', () => {
    const scorer = createTimingScorer(learned);
    let runs = 0;
    let fp = 0;
    let caught = 0;
    const trials = 10;
    for (let k = 0; k < trials; k++) {
      const rand = prng(100 + k);
      const benign = officeHours('agent:office', zone, 6, rand);
      const { state, findings } = run(scorer, benign);
      runs += state.runs;
      fp += findings.length;
      const wed = new Date(T0 + (6 * 7 + 2) * DAY);
      const t = localToUtc(zone, wed.getUTCFullYear(), wed.getUTCMonth(), wed.getUTCDate(), 3, 0);
      const r = run(scorer, runAt('agent:office', t, rand), state);
      if (r.findings.some((f) => (f.details.rules as string[]).includes('odd_hour'))) caught += 1;
    }
    expect(caught).toBe(trials);
    expect(fp / runs).toBeLessThan(0.002);
  });

  it('stays quiet before the maturity gate', () => {
    const scorer = createTimingScorer(learned);
    const rand = prng(31);
    const { state } = run(scorer, officeHours('agent:office', zone, 1, rand));
    const r = run(scorer, runAt('agent:office', T0 + 7 * DAY + 2 * DAY + 2 * HOUR, rand), state);
    expect(r.findings).toEqual([]);
  });

  it('flags a burst of runs within one hour', () => {
    const scorer = createTimingScorer(learned);
    const rand = prng(32);
    const { state } = run(scorer, officeHours('agent:office', zone, 6, rand));
    const day = new Date(T0 + 6 * 7 * DAY);
    const start = localToUtc(zone, day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 10, 0);
    const burst = Array.from({ length: 12 }, (_, i) => runAt('agent:office', start + i * 4 * MINUTE, rand)).flat();
    const r = run(scorer, burst, state);
    const bursts = r.findings.filter((f) => (f.details.rules as string[]).includes('burst'));
    expect(bursts).toHaveLength(1); // once per hour window, not once per run
    expect((bursts[0]?.details.burst as { runs_this_hour: number }).runs_this_hour).toBeLessThanOrEqual(8);
  });

  it('flags a silence of two working days, but not the weekend', () => {
    const scorer = createTimingScorer(learned);
    const rand = prng(33);
    // Weeks 0–5 normal; in week 6 Tuesday and Wednesday are missing.
    const events = officeHours('agent:office', zone, 7, rand, new Set([43, 44]));
    const { findings } = run(scorer, events);
    const silences = findings.filter((f) => (f.details.rules as string[]).includes('silence'));
    expect(silences).toHaveLength(1);
    // It is raised by Thursday's first run.
    const at = silences[0]?.lastSeen ?? 0;
    expect(Math.floor((at - T0) / DAY)).toBe(45);
  });

  it('honours per-agent time zones for the learned histogram', () => {
    const scorer = createTimingScorer({ ...base, agents: { 'agent:office': { timeZone: 'Asia/Tokyo', cron: [], toleranceMinutes: 0 } } });
    const rand = prng(34);
    const { state } = run(scorer, officeHours('agent:office', 'Asia/Tokyo', 6, rand));
    // Monday 10:00 in Tokyo is 01:00 UTC: normal for this agent (after a normal weekend).
    const mon = new Date(T0 + 6 * 7 * DAY);
    const r = run(scorer, runAt('agent:office', Date.UTC(mon.getUTCFullYear(), mon.getUTCMonth(), mon.getUTCDate(), 1, 5), rand), state);
    expect(r.findings).toEqual([]);
  });
});

describe('timing scorer: state hygiene', () => {
  it('does not double-count redelivered events and ignores stragglers', () => {
    const scorer = createTimingScorer(base);
    const rand = prng(41);
    const events = officeHours('agent:d', 'UTC', 2, rand);
    const once = run(scorer, events).state;
    const twice: IAccessEvent[] = [];
    for (let i = 0; i < events.length; i += 8) twice.push(...events.slice(i, i + 8), ...events.slice(i, i + 8));
    expect(run(scorer, twice).state).toEqual(once);
    const late = request('agent:d', once.last - HOUR, 's-late');
    expect(scorer.score(once, late).state).toBe(once);
  });

  it('a late REQUEST within the bound cannot start a run', () => {
    const scorer = createTimingScorer(base);
    const rand = prng(42);
    const { state } = run(scorer, runAt('agent:l', T0, rand));
    const late = request('agent:l', state.last - 2 * MINUTE, 's-other-session');
    const r = scorer.score(state, late);
    expect(r.state.runs).toBe(state.runs);
    expect(r.state.last).toBe(state.last);
  });

  it('round-trips its state through serialize/deserialize', () => {
    const scorer = createTimingScorer(base);
    const { state } = run(scorer, officeHours('agent:s', 'UTC', 3, prng(43)));
    const back = scorer.deserialize(scorer.serialize(state));
    expect(back).toEqual(state);
    const next = runAt('agent:s', state.last + 3 * HOUR, prng(44));
    expect(run(scorer, next, back)).toEqual(run(scorer, next, state));
  });

  it('stays bounded when one agent opens a million distinct sessions', () => {
    const scorer = createTimingScorer(base);
    let state = scorer.init();
    let findings = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const r = scorer.score(state, { eventId: `m-${i}`, sessionId: `sess-${i}`, time: T0 + i * 2000, phase: 1, identity: { subject: 'agent:flood' } });
      state = r.state;
      findings += r.findings.length;
    }
    expect(state.sessions.length).toBe(base.maxRecentSessions);
    expect(state.recent.length).toBe(base.dedupeWindow);
    expect(state.hist.length).toBe(168);
    expect(scorer.sizeOf?.(state)).toBeLessThan(2_000);
    expect(scorer.serialize(state).length).toBeLessThan(8_000);
    expect(findings).toBeGreaterThan(0); // a run every 2 s is a burst
  }, 120_000);

  it('forgets an agent idle past its ttl', () => {
    const scorer = createTimingScorer(base);
    const { state } = run(scorer, runAt('agent:i', T0, prng(45)));
    expect(scorer.evict?.(state, state.last + DAY)).toBe(state);
    expect(scorer.evict?.(state, state.last + 90 * DAY)).toBeUndefined();
  });
});

void WEEK;
