import { detectorsSchema, type DetectorsConfig } from '@portcullis/common';
import type { IAccessEvent } from '@portcullis/proto';
import { generateFleet, type Agent } from './fleet.js';
import { EXPECTED_DETECTOR, INJECTION_KINDS, injectActions, SPACING, type Injection, type InjectionKind } from './injections.js';
import { fleetManifests, planDrifts, sessionStartsOf, type ChangeRecord } from './manifests.js';
import { normalTraffic, type TrafficOptions } from './traffic.js';
import { HOUR, WEEK } from './time.js';

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
  /**
   * The records of portcullis.changes in created_at order: the approved change requests
   * the operator filed for benign deploys, and the out-of-window ones of the injections.
   * A run publishes (or feeds) them before the events.
   */
  readonly changes: readonly ChangeRecord[];
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
 * reads, off-schedule runs of declared jobs and critical config drift.
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
    // Critical drift (a never-seen endpoint, a changed secret, unapproved) blocks the agent.
    configDrift: { block: true },
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
  const injections = [...plan.injections];
  // Config drift: at least one of each variant (new endpoint, secret changed, out of window).
  const drifts = options.kinds.includes('config-drift')
    ? planDrifts(agents, sessionStartsOf(normal), config, traffic, injectFrom, to - 6 * HOUR, Math.max(3, options.perKind), (agent, t) => injections.some((i) => i.subject === agent.subject && Math.abs(i.start - t) < SPACING))
    : [];
  const manifests = fleetManifests(agents, normal, traffic, drifts);
  const notCovered = [...plan.notCovered];
  for (const d of drifts) {
    const e = manifests.events.find((x) => x.eventId === d.eventId);
    if (!e) continue;
    const t = Number(e.time);
    injections.push({ id: `inj-${String(injections.length + 1).padStart(3, '0')}-config-drift`, kind: 'config-drift', variant: d.variant, detector: EXPECTED_DETECTOR['config-drift'], subject: d.agent.subject, credentialId: d.agent.credentialId, start: t, end: t, evidenceAt: t, eventIds: [e.eventId ?? ''], description: d.description, ...(d.expectBlock ? { expectBlock: d.expectBlock } : {}) });
  }
  if (options.kinds.includes('config-drift') && !injections.some((i) => i.kind === 'config-drift')) notCovered.push({ kind: 'config-drift', reason: 'no agent in this fleet has a session in the injection window' });
  const events: IAccessEvent[] = [];
  for (const list of normal.values()) events.push(...list);
  events.push(...plan.events, ...manifests.events);
  events.sort((a, b) => Number(a.time) - Number(b.time) || (a.eventId ?? '').localeCompare(b.eventId ?? ''));
  return { options, agents, events, injections, changes: manifests.changes, notCovered, config, from, to, injectFrom };
}
