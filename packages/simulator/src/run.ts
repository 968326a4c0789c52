import type { Bus } from '@portcullis/bus';
import { silentLogger, type DetectorsConfig, type Logger } from '@portcullis/common';
import { DetectorCore, runDetectors, type DetectorTopics, type InputRecord } from '@portcullis/detectors';
import { encodeEvent, type IAccessEvent } from '@portcullis/proto';
import { latestAlerts, parseAlert, parseDecision, type SeenAlert, type SeenDecision } from './outcomes.js';
import type { ChangeRecord, ChangeTopicRecord } from './manifests.js';
import { fork, intBetween } from './random.js';
import { scorersFor } from './scorers.js';

/** What the detectors produced for a stream of events. */
export interface RunOutput {
  alerts: SeenAlert[];
  decisions: SeenDecision[];
  events: number;
  deadLetters: number;
}

/**
 * The events in the order a consumer would see them when gateways deliver late and
 * retry: each event is delayed by up to `maxDelayMs` of event time (bounded lateness)
 * and `duplicateRate` of them are delivered twice (the copy up to maxDelayMs later).
 */
export function perturbDelivery(events: readonly IAccessEvent[], seed: number, o: { maxDelayMs: number; duplicateRate: number }): IAccessEvent[] {
  const rand = fork(seed, 'delivery');
  const out: Array<{ at: number; i: number; e: IAccessEvent }> = [];
  let i = 0;
  for (const e of events) {
    const t = Number(e.time);
    out.push({ at: t + rand() * o.maxDelayMs, i: i++, e });
    if (rand() < o.duplicateRate) out.push({ at: t + rand() * o.maxDelayMs, i: i++, e });
  }
  out.sort((a, b) => a.at - b.at || a.i - b.i);
  return out.map((x) => x.e);
}

export interface BusRunOptions {
  bus: Bus;
  config: DetectorsConfig;
  topics: DetectorTopics;
  groupId: string;
  logger?: Logger;
  partitions?: number;
  /** Records per publish call. */
  chunk?: number;
  /** Wall-clock bound on waiting for the detectors to drain (not an assertion; a hung run fails). */
  timeoutMs?: number;
  /** Records of portcullis.changes (the scenario's change requests), published before the events. */
  changes?: readonly ChangeRecord[];
  /** The run's own changes topic; default `<events topic without .events>.changes`. */
  changesTopic?: string;
}

/** The changes topic of a run whose topics are `<base>.events`, `<base>.alerts` …. */
export function changesTopicOf(topics: DetectorTopics): string {
  return `${topics.events.replace(/\.events$/, '')}.changes`;
}

/**
 * Runs events through the real detector runtime: publishes them to the events topic
 * keyed by agent identity, lets runDetectors consume them as one member of a group, and
 * reads the alerts and decisions it published back from their topics.
 */
export async function runThroughBus(events: readonly IAccessEvent[], o: BusRunOptions): Promise<RunOutput> {
  const logger = o.logger ?? silentLogger();
  // The evaluator's own decisions topic keeps every record: on the compacted production
  // topic an in-process bus keeps only the newest decision per subject as it is written,
  // and the evaluation must see each block the findings asked for.
  await o.bus.ensureTopics([{ name: o.topics.decisions, partitions: 1, cleanupPolicy: 'delete', retentionMs: 7 * 86_400_000 }]);
  // The change requests are on the run's changes topic before the runtime starts: it reads
  // that topic to its end before scoring, as it would the operator's portcullis.changes.
  const changesTopic = o.changesTopic ?? changesTopicOf(o.topics);
  await o.bus.ensureTopics([{ name: changesTopic, partitions: 1, cleanupPolicy: 'compact' }]);
  if (o.changes && o.changes.length > 0) {
    const producer = await o.bus.producer({ idempotent: true });
    await producer.send(
      changesTopic,
      o.changes.map((c) => ({ key: c.key, value: c.value })),
    );
    await producer.close();
  }
  const runtime = await runDetectors({
    bus: o.bus,
    scorers: scorersFor(o.config, { changesTopic }),
    logger,
    topics: o.topics,
    config: { ...o.config, groupId: o.groupId },
    partitions: { events: o.partitions ?? 4, alerts: 1, decisions: 1, dlq: 1, state: 1 },
    lagIntervalMs: 100,
  });
  // Outputs are collected by a consumer as they are published rather than read back afterwards.
  const alerts: SeenAlert[] = [];
  const decisions: SeenDecision[] = [];
  const outputs = await o.bus.subscribe({
    groupId: `${o.groupId}.evaluator`,
    topics: [o.topics.alerts, o.topics.decisions],
    fromBeginning: true,
    handler: async (batch) => {
      for (const r of batch.records) {
        if (batch.topic === o.topics.alerts) {
          const a = r.value ? parseAlert(r.value) : undefined;
          if (a) alerts.push(a);
        } else {
          const d = parseDecision(r.value);
          if (d) decisions.push(d);
        }
      }
    },
  });
  try {
    const producer = await o.bus.producer({ idempotent: true });
    const chunk = o.chunk ?? 2000;
    for (let i = 0; i < events.length; i += chunk) {
      await producer.send(
        o.topics.events,
        events.slice(i, i + chunk).map((e) => ({ key: e.identity?.subject ?? '', value: encodeEvent(e) })),
      );
    }
    await producer.close();
    // A runtime may drop redelivered events before counting them, so "done" is: every
    // distinct event counted, no lag on any partition, and every output read back.
    const distinct = new Set(events.map((e) => e.eventId ?? '')).size;
    const deadline = Date.now() + (o.timeoutMs ?? 100_000);
    for (;;) {
      const s = runtime.stats();
      const drained = s.lag.length > 0 && s.lag.every((l) => l.lag === 0);
      if (s.events + s.deadLetters >= distinct && drained && alerts.length >= s.alerts && decisions.length >= s.decisions) break;
      if (Date.now() > deadline) throw new Error(`detectors consumed ${s.events} of ${distinct} distinct events (${alerts.length}/${s.alerts} alerts and ${decisions.length}/${s.decisions} decisions read) before the deadline`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const stats = runtime.stats();
    return { alerts: latestAlerts(alerts), decisions, events: stats.events, deadLetters: stats.deadLetters };
  } finally {
    await outputs.close();
    await runtime.close();
  }
}

/**
 * The same scoring without a bus: a fresh DetectorCore fed in partition-sized batches.
 * Nothing is published. Backtests use it, and so can tests that want many runs fast.
 */
export function runThroughCore(events: Iterable<IAccessEvent>, config: DetectorsConfig, o: { batch?: number; changes?: readonly ChangeTopicRecord[] } = {}): RunOutput {
  const changesTopic = 'backtest.changes';
  const scorers = scorersFor(config, { changesTopic });
  // The side input as the runtime feeds it: every record of the changes topic, in topic
  // order, folded into the scorers' views before the events scored against them.
  for (const c of o.changes ?? [])
    for (const s of scorers) for (const input of s.sideInputs ?? []) if (input.topic === changesTopic) input.apply(c.key, c.value);
  const core = new DetectorCore(scorers, { consumer: 'portcullis-backtest' });
  core.assign(0);
  core.markRestored(0);
  const alerts: SeenAlert[] = [];
  const decisions: SeenDecision[] = [];
  let count = 0;
  let deadLetters = 0;
  let batch: InputRecord[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const out = core.process(0, batch);
    count += out.events;
    deadLetters += out.deadLetters.length;
    for (const a of out.alerts) {
      const parsed = a.value ? parseAlert(a.value) : undefined;
      if (parsed) alerts.push(parsed);
    }
    for (const d of out.decisions) {
      const parsed = parseDecision(d.value);
      if (parsed) decisions.push(parsed);
    }
    batch = [];
  };
  let offset = 0;
  for (const e of events) {
    batch.push({ topic: 'backtest', partition: 0, offset: String(offset++), key: Buffer.from(e.identity?.subject ?? ''), value: encodeEvent(e), timestamp: Number(e.time) });
    if (batch.length >= (o.batch ?? 500)) flush();
  }
  flush();
  return { alerts: latestAlerts(alerts), decisions, events: count, deadLetters };
}

/** A short random suffix for topic and group names, so runs never share a topic. */
export function runSuffix(seed: number): string {
  const r = fork(seed ^ Date.now(), 'suffix');
  return `${intBetween(r, 0, 0xffffff).toString(16)}${Date.now().toString(36)}`;
}
