import { detectorsSchema, type DetectorsConfig } from '@portcullis/common';
import type { IAccessEvent } from '@portcullis/proto';
import { generateFleet, type Agent } from './fleet.js';
import { INJECTION_KINDS, injectActions, type Injection, type InjectionKind } from './injections.js';
import { normalTraffic, type TrafficOptions } from './traffic.js';
import { WEEK } from './time.js';

export interface ScenarioOptions {
  seed: number;
  agents: number;
  /** Weeks of event time; the last one carries the injections. At least 3 (two to mature baselines). */
  weeks: number;
  /** Event time of the first day (ms); default Monday 2025-01-06 00:00 UTC. */
  start?: number;
  environment?: string;
  deploysPerWeek?: number;
  /** Injections of each kind (on distinct agents where the fleet allows). */
  perKind?: number;
  kinds?: readonly InjectionKind[];
}

export interface Scenario {
  readonly options: Required<Omit<ScenarioOptions, 'kinds'>> & { kinds: readonly InjectionKind[] };
  readonly agents: readonly Agent[];
  /** Every event, normal and injected, in event-time order. */
  readonly events: readonly IAccessEvent[];
  readonly injections: readonly Injection[];
  readonly notCovered: ReadonlyArray<{ kind: InjectionKind; reason: string }>;
  /** The detectors' config as the operator declares it for this fleet. */
  readonly config: DetectorsConfig;
  readonly from: number;
  readonly to: number;
  readonly injectFrom: number;
}

export const DEFAULT_START = Date.UTC(2025, 0, 6);

/**
 * The operator's declarations for a fleet: each agent's time zone and, for scheduled
 * jobs, its cron schedule; each agent's destinations as its allowlist; blocks for
 * stolen credentials, sensitive records to untrusted destinations, high-severity bulk
 * reads and off-schedule runs of declared jobs.
 */
export function operatorConfig(agents: readonly Agent[], groupId = 'portcullis-detectors-sim'): DetectorsConfig {
  return detectorsSchema.parse({
    groupId,
    credentialOrigin: { block: true },
    commandAnomaly: { block: true, blockSeverity: 'high' },
    timing: {
      // The default prior (0.1 per hour-of-week bin, 16.8 pseudo-runs in all) keeps an empty
      // hour of an agent with a few dozen runs a week above oddHourProbability, so its
      // 3 a.m. run passes unflagged; a fleet with low-volume agents declares a smaller one.
      histogramPrior: 0.05,
      block: true,
      blockSeverity: 'high',
      agents: Object.fromEntries(agents.map((a) => [a.subject, { timeZone: a.timeZone, cron: [...a.cron], toleranceMinutes: 15 }])),
    },
    dataLeakage: {
      block: true,
      allowedDestinationsByAgent: Object.fromEntries(agents.map((a) => [a.subject, [...a.destinations]])),
    },
  });
}

/** A seeded fleet, weeks of its normal traffic and the insider actions, all pure. */
export function generateScenario(o: ScenarioOptions): Scenario {
  if (!Number.isInteger(o.seed)) throw new Error('scenario: seed must be an integer');
  if (!(o.agents >= 1)) throw new Error('scenario: agents must be at least 1');
  if (!(o.weeks >= 3)) throw new Error('scenario: weeks must be at least 3 (two to mature baselines, one for the injections)');
  const options = {
    seed: o.seed,
    agents: Math.floor(o.agents),
    weeks: Math.floor(o.weeks),
    start: o.start ?? DEFAULT_START,
    environment: o.environment ?? 'sim',
    deploysPerWeek: o.deploysPerWeek ?? 0.15,
    perKind: o.perKind ?? Math.max(1, Math.round(o.agents / 5)),
    kinds: o.kinds ?? INJECTION_KINDS,
  };
  const agents = generateFleet(options.seed, options.agents);
  const from = options.start;
  const to = from + options.weeks * WEEK;
  const injectFrom = to - WEEK;
  const traffic: TrafficOptions = { seed: options.seed, from, to, environment: options.environment, deploysPerWeek: options.deploysPerWeek };
  const normal = new Map(agents.map((a) => [a.subject, normalTraffic(a, traffic)]));
  const config = operatorConfig(agents);
  const plan = injectActions(agents, normal, config, traffic, injectFrom, options.perKind, options.kinds);
  const events: IAccessEvent[] = [];
  for (const list of normal.values()) events.push(...list);
  events.push(...plan.events);
  events.sort((a, b) => Number(a.time) - Number(b.time) || (a.eventId ?? '').localeCompare(b.eventId ?? ''));
  return { options, agents, events, injections: plan.injections, notCovered: plan.notCovered, config, from, to, injectFrom };
}
