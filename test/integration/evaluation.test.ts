import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createBus, type Bus } from '@portcullis/bus';
import { busSchema, silentLogger } from '@portcullis/common';
import type { DetectorTopics } from '@portcullis/detectors';
import { evaluate, formatReport, generateScenario, perturbDelivery, runThroughBus, runThroughCore, type EvaluationReport } from '@portcullis/simulator';
import { kafkaBrokers } from '../support/kafka.js';

const logger = silentLogger();
/** At most 1.5 alerts per agent-week at Medium or above, per detector, on benign traffic. */
const FP_BUDGET_PER_AGENT_WEEK = 1.5;

function topics(): { topics: DetectorTopics; groupId: string } {
  const base = `it-eval-${randomBytes(5).toString('hex')}`;
  return {
    groupId: `${base}.detectors`,
    topics: { events: `${base}.events`, alerts: `${base}.alerts`, decisions: `${base}.decisions`, dlq: `${base}.dlq`, state: (d) => `${base}.state.${d}` },
  };
}

function expectCaughtWithinBudget(r: EvaluationReport): void {
  expect(r.injections.filter((i) => !i.detected).map((i) => i.id)).toEqual([]);
  expect(r.injections.filter((i) => i.expectBlock && !i.blocked).map((i) => i.id)).toEqual([]);
  expect(r.missingDecisions).toEqual([]);
  for (const d of r.detectors) expect([d.detector, d.falsePositivesPerAgentWeek <= FP_BUDGET_PER_AGENT_WEEK]).toEqual([d.detector, true]);
  // Config drift is covered: out-of-band changes caught and blocked, approved deploys silent.
  expect(r.notCovered).toEqual([]);
  const drift = r.detectors.find((d) => d.detector === 'config-drift');
  expect(drift?.injections).toBeGreaterThanOrEqual(3);
  expect([drift?.recall, drift?.falsePositives, drift?.blocksIssued]).toEqual([1, 0, drift?.blocksExpected]);
}

async function onBus(bus: Bus, scenario: ReturnType<typeof generateScenario>, events = scenario.events) {
  try {
    return await runThroughBus(events, { bus, config: scenario.config, logger, changes: scenario.changes, ...topics() });
  } finally {
    await bus.close();
  }
}

describe('evaluation through the real detector runtime', () => {
  it('default scenario on the in-process bus: every injected action caught, blocked as configured, FPs within budget', async () => {
    const scenario = generateScenario({ seed: 1, agents: 12, weeks: 4 });
    const run = await onBus(createBus(busSchema.parse({ kind: 'memory' }), logger), scenario);
    expect(run.events).toBe(scenario.events.length);
    expect(run.deadLetters).toBe(0);
    const report = evaluate(scenario, run);
    console.log(formatReport(report));
    expectCaughtWithinBudget(report);
    // The runtime's output matches the bus-free core on the same events.
    const core = evaluate(scenario, runThroughCore(scenario.events, scenario.config, { changes: scenario.changes }));
    expect(report.injections.map((i) => [i.id, i.detected, i.timeToDetectMs])).toEqual(core.injections.map((i) => [i.id, i.detected, i.timeToDetectMs]));
  });

  it('late and duplicated delivery on the bus leaves the outcome unchanged', async () => {
    const scenario = generateScenario({ seed: 77, agents: 8, weeks: 3 });
    const noisy = perturbDelivery(scenario.events, 77, { maxDelayMs: 90_000, duplicateRate: 0.05 });
    const run = await onBus(createBus(busSchema.parse({ kind: 'memory' }), logger), scenario, noisy);
    const report = evaluate(scenario, run);
    expectCaughtWithinBudget(report);
    const clean = evaluate(scenario, runThroughCore(scenario.events, scenario.config, { changes: scenario.changes }));
    expect(report.injections.map((i) => [i.id, i.detected, i.blocked])).toEqual(clean.injections.map((i) => [i.id, i.detected, i.blocked]));
  });

  it('a smaller fleet on the shared Kafka broker', async () => {
    const brokers = await kafkaBrokers();
    const scenario = generateScenario({ seed: 2, agents: 5, weeks: 3 });
    const bus = createBus(busSchema.parse({ kind: 'kafka', brokers, clientId: 'evaluation-it' }), logger);
    const run = await onBus(bus, scenario);
    expect(run.events).toBe(scenario.events.length);
    const report = evaluate(scenario, run);
    console.log(formatReport(report));
    expectCaughtWithinBudget(report);
  });
});
