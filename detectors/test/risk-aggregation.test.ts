import { describe, it, expect } from 'vitest';
import { createRiskAggregator, alertIdOf, type Finding, type RiskAggregationSettings, type RiskState, type RiskUpdate, type SeverityName } from '../src/index.js';
import { prng, T0, MINUTE, HOUR, DAY } from './fixtures/agent-traffic.js';

const settings: RiskAggregationSettings = {
  halfLifeMs: 6 * HOUR,
  weights: { timing: 0.5 },
  severityPoints: { info: 0, low: 5, medium: 15, high: 40, critical: 100, fatal: 100 },
  alertThreshold: 30,
  blockThreshold: 80,
  closeThreshold: 10,
  updateStep: 0.25,
  maxEvidence: 20,
  block: true,
  blockTtlMs: HOUR,
};

let n = 0;
function finding(detector: string, severity: SeverityName, score: number, t: number, subject = 'agent:a'): Finding {
  n += 1;
  return {
    detector,
    key: subject,
    title: 't',
    description: 'd',
    severity,
    score,
    confidence: 0.8,
    analytic: 'statistical',
    subject: { kind: 'identity', value: subject },
    eventIds: [`evt-${n}`],
    firstSeen: t,
    lastSeen: t,
    details: {},
  };
}

function feed(agg: ReturnType<typeof createRiskAggregator>, state: RiskState, findings: readonly Finding[]): { state: RiskState; updates: RiskUpdate[] } {
  const updates: RiskUpdate[] = [];
  for (const f of findings) {
    const r = agg.add(state, f, f.lastSeen);
    state = r.state;
    if (r.closed) updates.push(r.closed);
    if (r.update) updates.push(r.update);
  }
  return { state, updates };
}

describe('risk aggregator', () => {
  it('opens one alert, updates it sparingly, blocks once, and closes it after decay', () => {
    const agg = createRiskAggregator(settings);
    const entity = { kind: 'identity' as const, value: 'agent:a' };
    // 30 high findings a minute apart: one episode.
    const storm = Array.from({ length: 30 }, (_, i) => finding('command-anomaly', 'high', 0.9, T0 + i * MINUTE));
    const { state, updates } = feed(agg, agg.init(entity), storm);
    expect(updates[0]?.activity).toBe('create');
    expect(new Set(updates.map((u) => u.alertKey)).size).toBe(1);
    expect(updates.length).toBeLessThanOrEqual(8);
    expect(updates.filter((u) => u.block)).toHaveLength(1);
    expect(updates.find((u) => u.block)?.block).toEqual({ subject: entity, ttlMs: HOUR, reason: expect.stringContaining('risk') });
    // The alert key is the one the runtime would derive from the update's finding.
    const u0 = updates[0] as RiskUpdate;
    expect(alertIdOf(u0.finding)).toBe(u0.alertKey);
    expect(state.episode?.evidence.length).toBeLessThanOrEqual(settings.maxEvidence);
    expect(state.episode?.evidence[0]).toBe(storm[0]?.eventIds[0]); // 0.9 × 40 = 36 ≥ 30: the first finding opened it
    // Quiet for three days (12 half-lives): tick closes the episode, once.
    expect(agg.tick(state, T0 + HOUR).update).toBeUndefined();
    const closed = agg.tick(state, T0 + 3 * DAY);
    expect(closed.update?.activity).toBe('close');
    expect(closed.update?.alertKey).toBe(u0.alertKey);
    expect(closed.state.episode).toBeUndefined();
    expect(agg.tick(closed.state, T0 + 3 * DAY + HOUR).update).toBeUndefined();
    // A new storm is a new episode with a new key.
    const again = feed(agg, closed.state, [finding('data-leakage', 'critical', 0.97, T0 + 4 * DAY)]);
    expect(again.updates.map((u) => u.activity)).toEqual(['create']);
    expect(again.updates[0]?.alertKey).not.toBe(u0.alertKey);
    expect(again.updates[0]?.block).toBeDefined(); // critical alone crosses the block threshold
  });

  it('closes a decayed episode when the next finding arrives, before opening the next', () => {
    const agg = createRiskAggregator(settings);
    const { state } = feed(agg, agg.init({ kind: 'identity', value: 'agent:a' }), [finding('x', 'high', 1, T0)]);
    expect(state.episode).toBeDefined();
    const r = agg.add(state, finding('x', 'high', 1, T0 + DAY), T0 + DAY);
    expect(r.closed?.activity).toBe('close');
    expect(r.update?.activity).toBe('create');
    expect(r.update?.alertKey).not.toBe(r.closed?.alertKey);
  });

  it('keeps benign background findings below the alert threshold; a burst of findings from several detectors opens and blocks', () => {
    const agg = createRiskAggregator(settings);
    const rand = prng(61);
    const detectors = ['command-anomaly', 'timing', 'data-leakage', 'credential-origin'];
    let falseAlerts = 0;
    let caught = 0;
    const entities = 200;
    for (let k = 0; k < entities; k++) {
      let state = agg.init({ kind: 'identity', value: `agent:${k}` });
      // Background: a low finding every ~6 h and a medium about weekly, for 4 weeks.
      let t = T0;
      while (t < T0 + 28 * DAY) {
        t += Math.floor(-Math.log(Math.max(rand(), 1e-9)) * 6 * HOUR);
        const sev: SeverityName = rand() < 0.04 ? 'medium' : 'low';
        const r = agg.add(state, finding(detectors[Math.floor(rand() * 4)] as string, sev, 0.3 + rand() * 0.5, t, `agent:${k}`), t);
        state = r.state;
        if (r.update?.activity === 'create') falseAlerts += 1;
      }
      // Injected: three high findings from different detectors within 30 minutes.
      const inj = [0, 1, 2].map((i) => finding(detectors[i] as string, 'high', 0.9, t + (i + 1) * 10 * MINUTE, `agent:${k}`));
      const { updates } = feed(agg, state, inj);
      if (updates.some((u) => u.block) && updates.some((u) => u.activity === 'create')) caught += 1;
    }
    expect(caught).toBe(entities);
    expect(falseAlerts / entities).toBeLessThan(0.05);
  });

  it('applies per-detector weights', () => {
    const agg = createRiskAggregator(settings);
    const e = { kind: 'identity' as const, value: 'agent:a' };
    const a = agg.add(agg.init(e), finding('timing', 'high', 1, T0), T0).state;
    const b = agg.add(agg.init(e), finding('command-anomaly', 'high', 1, T0), T0).state;
    expect(a.risk).toBeCloseTo(20, 6);
    expect(b.risk).toBeCloseTo(40, 6);
  });

  it('does not double-count a re-delivered finding and discounts a late one', () => {
    const agg = createRiskAggregator(settings);
    const e = { kind: 'identity' as const, value: 'agent:a' };
    const f = finding('x', 'medium', 1, T0);
    const s1 = agg.add(agg.init(e), f, T0).state;
    const s2 = agg.add(s1, f, T0);
    expect(s2.state).toBe(s1);
    const late = agg.add(s1, finding('x', 'medium', 1, T0 - 6 * HOUR), T0 - 6 * HOUR).state;
    expect(late.risk).toBeCloseTo(15 + 7.5, 6);
    expect(late.at).toBe(T0);
  });

  it('stays bounded with a million distinct detectors and evidence ids', () => {
    const agg = createRiskAggregator(settings);
    let state = agg.init({ kind: 'identity', value: 'agent:flood' });
    for (let i = 0; i < 1_000_000; i++) state = agg.add(state, finding(`det-${i}`, 'low', 1, T0 + i * 100), T0 + i * 100).state;
    expect(state.byDetector.length).toBeLessThanOrEqual(32);
    expect(state.recent.length).toBeLessThanOrEqual(64);
    expect(state.episode?.evidence.length ?? 0).toBeLessThanOrEqual(settings.maxEvidence);
    expect(agg.sizeOf(state)).toBeLessThan(8_000);
    expect(agg.serialize(state).length).toBeLessThan(8_000);
  }, 120_000);

  it('round-trips its state and evicts only when nothing is left', () => {
    const agg = createRiskAggregator(settings);
    const { state } = feed(agg, agg.init({ kind: 'identity', value: 'agent:a' }), [finding('x', 'high', 1, T0), finding('y', 'medium', 1, T0 + MINUTE)]);
    expect(agg.deserialize(agg.serialize(state))).toEqual(state);
    // An open episode is never evicted (its close must be published first).
    expect(agg.evict(state, T0 + 30 * DAY)).toBe(state);
    const closed = agg.tick(state, T0 + 30 * DAY).state;
    expect(agg.evict(closed, T0 + 30 * DAY)).toBeUndefined();
    const quiet = agg.add(agg.init({ kind: 'identity', value: 'agent:b' }), finding('x', 'low', 1, T0), T0).state;
    expect(agg.evict(quiet, T0 + HOUR)).toBe(quiet);
    expect(agg.evict(quiet, T0 + 5 * DAY)).toBeUndefined();
  });

  it('charges a finding to the agent behind the event when known', () => {
    const agg = createRiskAggregator(settings);
    const f = { ...finding('credential-origin', 'high', 1, T0), subject: { kind: 'credential' as const, value: 'tok_1' } };
    expect(agg.entityOf(f, { identity: { subject: 'agent:p' } })).toEqual({ kind: 'identity', value: 'agent:p' });
    expect(agg.entityOf(f)).toEqual({ kind: 'credential', value: 'tok_1' });
  });
});
