import { describe, it, expect } from 'vitest';
import { evaluate, generateScenario, perturbDelivery, runThroughCore, type EvaluationReport } from '../src/index.js';

/**
 * The false-positive budget: at most 1.5 alerts per agent-week at Medium or above, per
 * detector, on benign traffic (fleet average). Recall must be 100% on every covered kind.
 */
const FP_BUDGET_PER_AGENT_WEEK = 1.5;

function assertCaught(r: EvaluationReport): void {
  const missed = r.injections.filter((i) => !i.detected).map((i) => `${i.id} ${i.variant} ${i.subject}`);
  expect(missed).toEqual([]);
  const unblocked = r.injections.filter((i) => i.expectBlock && !i.blocked).map((i) => `${i.id} ${i.expectBlock}`);
  expect(unblocked).toEqual([]);
  expect(r.missingDecisions).toEqual([]);
  for (const d of r.detectors) {
    expect({ detector: d.detector, fpPerAgentWeek: d.falsePositivesPerAgentWeek <= FP_BUDGET_PER_AGENT_WEEK }).toEqual({ detector: d.detector, fpPerAgentWeek: true });
    if (d.injections > 0) expect(d.recall).toBe(1);
  }
  // Config drift: every out-of-band change caught and blocked; approved deploys silent.
  const drift = r.detectors.find((d) => d.detector === 'config-drift');
  expect(drift).toMatchObject({ injections: expect.any(Number) as number, falseNegatives: 0, falsePositives: 0, recall: 1 });
  expect(drift?.injections).toBeGreaterThanOrEqual(3);
  expect(drift?.blocksIssued).toBe(drift?.blocksExpected);
  expect(r.injections.filter((i) => i.kind === 'config-drift').map((i) => i.severity)).toEqual(r.injections.filter((i) => i.kind === 'config-drift').map(() => 'Critical'));
  expect(r.notCovered).toEqual([]);
}

describe('evaluation on DetectorCore across seeds and fleet sizes', () => {
  it.each([
    { seed: 101, agents: 6, weeks: 3 },
    { seed: 202, agents: 14, weeks: 4 },
    { seed: 303, agents: 24, weeks: 3 },
  ])('seed $seed, $agents agents, $weeks weeks: every action caught and blocked as configured, FPs within budget', ({ seed, agents, weeks }) => {
    const s = generateScenario({ seed, agents, weeks });
    const r = evaluate(s, runThroughCore(s.events, s.config, { changes: s.changes }));
    expect(r.events).toBe(s.events.length);
    expect(r.injections.length).toBeGreaterThanOrEqual(4);
    assertCaught(r);
    // Time to detect (event time) runs from the first injected event that carries the
    // evidence to the alert: within a second for every action a single event reveals. A
    // burst is a rate: it exists only once enough runs have landed in one hour, so it is
    // held to that hour.
    for (const i of r.injections) expect([i.id, i.timeToDetectMs !== null && i.timeToDetectMs <= (i.variant === 'burst' ? 3_600_000 : 1_000)]).toEqual([i.id, true]);
  }, 30_000);

  it('benign deploys alert without their change requests: the approvals are what keeps them silent', () => {
    // Frequent deploys on a small fleet: many manifest changes, each with its approval.
    const s = generateScenario({ seed: 606, agents: 6, weeks: 3, deploysPerWeek: 1, kinds: ['config-drift'] });
    expect(s.changes.filter((c) => c.benign).length).toBeGreaterThanOrEqual(5);
    const fp = (changes: typeof s.changes) => evaluate(s, runThroughCore(s.events, s.config, { changes })).detectors.find((d) => d.detector === 'config-drift')?.falsePositives ?? 0;
    expect(fp(s.changes)).toBe(0);
    expect(fp(s.changes.filter((c) => !c.benign))).toBeGreaterThan(0);
  }, 30_000);

  it('counts an alert on benign traffic as a false positive and a missed action as a false negative', () => {
    const s = generateScenario({ seed: 404, agents: 6, weeks: 3 });
    const run = runThroughCore(s.events, s.config, { changes: s.changes });
    const target = s.injections[0];
    if (!target) throw new Error('no injection');
    // Drop the injected events: the action cannot be caught, so it must show as missed.
    const without = new Set(target.eventIds);
    const r = evaluate(s, runThroughCore(s.events.filter((e) => !without.has(e.eventId ?? '')), s.config, { changes: s.changes }));
    expect(r.injections.find((i) => i.id === target.id)?.detected).toBe(false);
    expect(r.detectors.find((d) => d.detector === target.detector)?.falseNegatives).toBeGreaterThanOrEqual(1);
    // A benign alert: move one agent's ordinary alert outside every window and it is an FP.
    const base = evaluate(s, run);
    const fake = { ...run.alerts[0]!, id: 'fake-alert', actor: 'agent:nobody', severityId: 4, severity: 'High' };
    const r2 = evaluate(s, { ...run, alerts: [...run.alerts, fake] });
    expect(r2.falsePositives.length).toBe(base.falsePositives.length + 1);
  });

  it('out-of-order delivery within bounded lateness and duplicate events do not change the outcome', () => {
    const s = generateScenario({ seed: 505, agents: 10, weeks: 3 });
    const clean = evaluate(s, runThroughCore(s.events, s.config, { changes: s.changes }));
    const noisy = perturbDelivery(s.events, 505, { maxDelayMs: 60_000, duplicateRate: 0.03 });
    expect(noisy.length).toBeGreaterThan(s.events.length);
    const r = evaluate(s, runThroughCore(noisy, s.config, { changes: s.changes }));
    assertCaught(r);
    const summary = (x: EvaluationReport) => x.injections.map((i) => [i.id, i.detected, i.blocked]);
    expect(summary(r)).toEqual(summary(clean));
    for (const d of clean.detectors) {
      const other = r.detectors.find((x) => x.detector === d.detector);
      expect(other?.truePositives).toBe(d.truePositives);
      // Duplicates must not add alerts; reordering may move a marginal benign finding by one.
      expect(Math.abs((other?.falsePositives ?? 0) - d.falsePositives)).toBeLessThanOrEqual(Math.max(1, Math.ceil(d.falsePositives * 0.1)));
    }
  });
});
