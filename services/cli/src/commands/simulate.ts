import { randomBytes } from 'node:crypto';
import { busSchema, createLogger } from '@portcullis/common';
import type { ParsedArgs } from '../args.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';

/**
 * `portcullis simulate`: a seeded fleet's weeks of traffic with the insider actions
 * injected, through the detector runtime on the in-process bus; prints per-detector
 * precision, recall and event-time time to detect.
 */
export async function runSimulate(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { createBus } = await import('@portcullis/bus');
  const { generateScenario, runThroughBus, evaluate, formatReport } = await import('@portcullis/simulator');
  const seed = args.int('seed') ?? 1;
  const scenario = generateScenario({ seed, agents: args.int('agents') ?? 12, weeks: args.int('weeks') ?? 4 });
  const logger = createLogger('cli-simulate', 'warn');
  const bus = createBus(busSchema.parse({ kind: 'memory' }), logger);
  const base = `portcullis.sim.${randomBytes(4).toString('hex')}`;
  try {
    const run = await runThroughBus(scenario.events, {
      bus,
      config: scenario.config,
      groupId: `${base}.detectors`,
      logger,
      // The operator's change requests for the fleet's deploys (and the injected
      // out-of-window one), on the run's own changes topic before the events.
      changes: scenario.changes,
      changesTopic: `${base}.changes`,
      topics: { events: `${base}.events`, alerts: `${base}.alerts`, decisions: `${base}.decisions`, dlq: `${base}.dlq`, state: (d) => `${base}.state.${d}` },
    });
    const report = evaluate(scenario, run);
    ctx.out(args.flag('json') ? JSON.stringify(report) : formatReport(report));
    const perfect = report.injections.every((i) => i.detected && (!i.expectBlock || i.blocked));
    return perfect ? ExitCode.ok : ExitCode.failure;
  } finally {
    await bus.close();
  }
}
