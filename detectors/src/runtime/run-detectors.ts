import type { Bus, BusBatch, BusProducer, Subscription } from '@portcullis/bus';
import { Topics, stateTopic, type DetectorsConfig, type Logger, type MetricsRegistry, type TopicSpec, MetricsRegistry as Registry, DAY_MS } from '@portcullis/common';
import type { Scorer } from '../scorer.js';
import type { RiskAggregator } from '../scorers/risk-aggregation.js';
import { DetectorCore, type BatchResult, type CoreOptions, type OutRecord } from './core.js';
import { detectorMetrics } from './metrics.js';
import { PublishGate } from './publish-gate.js';
import { SideInputFeed } from './side-inputs.js';

/** Topic names, injectable so tests (and side-by-side deployments) can use their own. */
export interface DetectorTopics {
  events: string;
  alerts: string;
  decisions: string;
  dlq: string;
  /** The compacted changelog of one detector's state. */
  state: (detector: string) => string;
}

const DEFAULT_GROUP_ID = 'portcullis-detectors';

/** The production topics of the default group; runDetectors names the changelogs after its own group. */
export const DEFAULT_DETECTOR_TOPICS: DetectorTopics = {
  events: Topics.events,
  alerts: Topics.alerts,
  decisions: Topics.decisions,
  dlq: Topics.dlq,
  state: (detector) => stateTopic(DEFAULT_GROUP_ID, detector),
};

export interface RunDetectorsOptions {
  bus: Bus;
  scorers: readonly Scorer<unknown>[];
  /** The risk aggregator, fed with the scorers' findings (createAggregator(config)). */
  aggregator?: RiskAggregator;
  logger: Logger;
  /** `groupId` and the runtime bounds are taken from here unless given explicitly below. */
  config?: Partial<Pick<DetectorsConfig, 'groupId' | 'runtime'>>;
  groupId?: string;
  metrics?: MetricsRegistry;
  topics?: Partial<DetectorTopics>;
  /** Partition counts used when the runtime has to create a topic (ensureTopics is idempotent). */
  partitions?: { events?: number; alerts?: number; decisions?: number; dlq?: number; state?: number };
  core?: Partial<Omit<CoreOptions, 'consumer' | 'aggregator'>>;
  /** Records per batch handed to the scorers. */
  maxBatch?: number;
  /** Back-pressure: pause consuming above this many unacknowledged output records (resume at half). */
  maxPendingRecords?: number;
  /** How often lag is sampled (wall clock; it is an operational metric, not a detection input). */
  lagIntervalMs?: number;
  /** Longest a batch waits for the scorers' side inputs to catch up before it is scored anyway. Default 5000. */
  sideInputTimeoutMs?: number;
}

export interface DetectorStats {
  events: number;
  eventsPerSecond: number;
  alerts: number;
  decisions: number;
  suppressed: number;
  deadLetters: number;
  /** Records not scored again: already applied before a restart, or a duplicate event id. */
  duplicates: number;
  publishFailures: number;
  /** Events partitions owned here whose state is restored … */
  partitions: number[];
  /** … and those still replaying their changelog. */
  restoring: number[];
  paused: boolean;
  pendingRecords: number;
  lag: Array<{ partition: number; lag: number }>;
  /** Per detector (every scorer and the aggregator): entities held, approximate heap bytes, bytes per entity. */
  state: Array<{ detector: string; entries: number; bytes: number; bytesPerEntry: number }>;
}

export interface DetectorRuntime {
  /** Leaves the group (partitions revoked, state dropped) and flushes the producer. The bus stays open. */
  close(): Promise<void>;
  stats(): DetectorStats;
}

/**
 * Runs the scorers over the events topic as one member of a consumer group. Per batch:
 * decode (bad records → dead letters), score against per-partition state, publish the
 * alerts, decisions and changelog entries, and only when the broker has acknowledged all
 * of them return, so the bus commits the batch's offsets. A partition's state is
 * restored from the changelog when it is assigned, so a restarted or rebalanced member
 * neither forgets baselines nor raises an old alert under a new id.
 */
export async function runDetectors(options: RunDetectorsOptions): Promise<DetectorRuntime> {
  const { bus, scorers } = options;
  const groupId = options.groupId ?? options.config?.groupId ?? DEFAULT_GROUP_ID;
  const topics: DetectorTopics = { ...DEFAULT_DETECTOR_TOPICS, state: (detector) => stateTopic(groupId, detector), ...options.topics };
  const logger = options.logger.child({ component: 'detectors', groupId });
  const m = detectorMetrics(options.metrics ?? new Registry());
  const bounds = options.config?.runtime;
  const core = new DetectorCore(scorers, {
    ...(bounds ? { maxKeysPerPartition: bounds.maxKeysPerPartition, evictIntervalMs: bounds.evictIntervalMs, recentAlertIds: bounds.recentAlertIds } : {}),
    ...options.core,
    consumer: groupId,
    aggregator: options.aggregator,
  });

  await bus.ensureTopics(topicLayout(topics, core.storeNames(), options.partitions ?? {}));
  const producer: BusProducer = await bus.producer({ idempotent: true });

  // ── side inputs (src/runtime/side-inputs.ts): compacted topics some scorers read as views
  const sideScorers = scorers.filter((s) => (s.sideInputs?.length ?? 0) > 0);
  const sideIgnored = options.metrics?.counter('portcullis_detector_side_input_ignored_total', 'Side-input records a scorer ignored (malformed), per topic.');
  const sideTimeouts = options.metrics?.counter('portcullis_detector_side_input_timeouts_total', 'Batches scored before their side inputs caught up.');
  let sideLogged = false;
  const sides =
    sideScorers.length === 0
      ? undefined
      : new SideInputFeed(
          bus,
          sideScorers.flatMap((s) => s.sideInputs ?? []),
          {
            groupId,
            logger,
            catchUpTimeoutMs: options.sideInputTimeoutMs ?? 5_000,
            onIgnored: (topic, reason) => {
              sideIgnored?.inc({ topic });
              if (!sideLogged) {
                sideLogged = true; // once; the counter has the rest
                logger.warn({ topic, reason }, 'side-input record ignored');
              }
            },
            onTimeout: () => sideTimeouts?.inc(),
          },
        );
  if (sides) {
    await bus.ensureTopics(sides.topics.map((name) => ({ name, partitions: 1, cleanupPolicy: 'compact' as const })));
    await sides.start();
  }
  // ── end side inputs

  const counts = { events: 0, alerts: 0, decisions: 0, suppressed: 0, deadLetters: 0, duplicates: 0, publishFailures: 0 };
  let lag: DetectorStats['lag'] = [];
  // The gate is built before the subscription exists (the handler needs it).
  const consuming: { subscription?: Subscription } = {};
  const maxPending = options.maxPendingRecords ?? bounds?.maxPendingRecords ?? 50_000;
  const gate = new PublishGate(maxPending, Math.floor(maxPending / 2), {
    pause: () => consuming.subscription?.pause(),
    resume: () => consuming.subscription?.resume(),
    onChange: (paused) => {
      m.paused.set(paused ? 1 : 0);
      logger.info({ pending: gate.pending, maxPending }, paused ? 'publish backlog over its bound; consumption paused' : 'publish backlog drained; consumption resumed');
    },
  });

  /** Rebuilds the given partitions' state from each detector's changelog. */
  const restore = async (partitions: readonly number[]): Promise<void> => {
    const only = new Set(partitions);
    for (const p of partitions) core.assign(p);
    try {
      for (const store of core.storeNames()) {
        let n = 0;
        await bus.readToEnd(topics.state(store), (r) => {
          if (r.key === null) return;
          core.restore(store, r.key.toString('utf8'), r.value, only);
          n += 1;
        });
        m.restored.inc({ detector: store }, n);
      }
      for (const p of partitions) core.markRestored(p);
      logger.info({ partitions, state: core.stateSize() }, 'detector state restored');
    } catch (e) {
      // Unassigned again, so the partition's next batch retries the restore instead of
      // scoring against an empty baseline.
      for (const p of partitions) core.revoke(p);
      throw e;
    }
  };

  /**
   * Two phases: alerts, decisions and dead letters first, the changelog (with each
   * store's applied offset) only once those are acknowledged. A crash in between
   * re-delivers the batch against the old state, which re-emits the same ids; a crash
   * after the changelog skips the applied records on restore. The other order could
   * restore a state whose alert was never published — and skip the record that raised it.
   */
  const publish = async (out: BatchResult): Promise<void> => {
    const phase = async (batches: Array<[string, OutRecord[]]>): Promise<void> => {
      await Promise.all(batches.filter(([, records]) => records.length > 0).map(([topic, records]) => producer.send(topic, records)));
    };
    await phase([
      [topics.decisions, out.decisions],
      [topics.alerts, out.alerts],
      [topics.dlq, out.deadLetters],
    ]);
    await phase([...out.changelog].map(([store, records]) => [topics.state(store), records] as [string, OutRecord[]]));
  };

  const handler = async (batch: BusBatch): Promise<void> => {
    if (!core.has(batch.partition)) await restore([batch.partition]);
    if (sides?.wants(batch.records)) await sides.catchUp(); // side inputs: views current before scoring
    const out = core.process(batch.partition, batch.records);
    let records = out.alerts.length + out.decisions.length + out.deadLetters.length;
    for (const c of out.changelog.values()) records += c.length;
    try {
      await gate.track(records, () => publish(out));
    } catch (e) {
      out.rollback();
      counts.publishFailures += 1;
      m.publishFailures.inc();
      throw e;
    }
    counts.events += out.events;
    m.events.inc(undefined, out.events);
    counts.deadLetters += out.deadLetters.length;
    counts.duplicates += out.duplicates;
    if (out.duplicates) m.duplicates.inc(undefined, out.duplicates);
    m.deadLetters.inc(undefined, out.deadLetters.length);
    if (out.deadLetters.length > 0) logger.warn({ partition: batch.partition, count: out.deadLetters.length }, 'records sent to the dead-letter topic');
    for (const [detector, c] of out.perDetector) {
      counts.alerts += c.alerts;
      counts.decisions += c.decisions;
      counts.suppressed += c.suppressed;
      if (c.alerts) m.alerts.inc({ detector }, c.alerts);
      if (c.decisions) m.decisions.inc({ detector }, c.decisions);
      if (c.suppressed) m.suppressed.inc({ detector }, c.suppressed);
    }
  };

  const eventsTopicPartitions = (tps: ReadonlyArray<{ topic: string; partition: number }>) => tps.filter((tp) => tp.topic === topics.events).map((tp) => tp.partition);

  m.stateEntries.onCollect(() => {
    for (const s of core.stateSize()) m.stateEntries.set(s.entries, { detector: s.detector });
  });
  m.stateBytes.onCollect(() => {
    for (const s of core.stateSize()) m.stateBytes.set(s.bytes, { detector: s.detector });
  });

  const sub = await bus.subscribe({
    groupId,
    topics: [topics.events],
    fromBeginning: true,
    maxBatch: options.maxBatch ?? bounds?.maxBatch,
    handler,
    onAssign: (tps) => restore(eventsTopicPartitions(tps)),
    onRevoke: (tps) => {
      for (const p of eventsTopicPartitions(tps)) core.revoke(p);
    },
  });

  consuming.subscription = sub;
  if (gate.isPaused) sub.pause(); // a first batch may have filled the backlog before subscribe() returned
  const sampleLag = async (): Promise<void> => {
    try {
      lag = (await sub.lag()).map((l) => ({ partition: l.partition, lag: Number(l.lag) }));
      for (const l of lag) m.lag.set(l.lag, { partition: String(l.partition) });
    } catch (e) {
      logger.debug({ err: e }, 'lag sample failed');
    }
  };
  const lagTimer = setInterval(() => void sampleLag(), options.lagIntervalMs ?? 5_000);
  lagTimer.unref();
  const started = Date.now();
  let closed = false;

  logger.info({ detectors: core.detectorNames(), topics: { ...topics, state: undefined } }, 'detectors running');
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(lagTimer);
      await sub.close();
      await sides?.close();
      await producer.close();
      for (const p of core.assignedPartitions()) core.revoke(p);
    },
    stats: () => {
      const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
      const status = core.partitionStatus();
      return {
        ...counts,
        eventsPerSecond: counts.events / seconds,
        partitions: status.restored,
        restoring: status.restoring,
        paused: gate.isPaused,
        pendingRecords: gate.pending,
        lag,
        state: core.stateSize().map((s) => ({ detector: s.detector, entries: s.entries, bytes: s.bytes, bytesPerEntry: s.entries ? s.bytes / s.entries : 0 })),
      };
    },
  };
}

function topicLayout(topics: DetectorTopics, stores: readonly string[], p: NonNullable<RunDetectorsOptions['partitions']>): TopicSpec[] {
  return [
    { name: topics.events, partitions: p.events ?? 6, cleanupPolicy: 'delete', retentionMs: 7 * DAY_MS },
    { name: topics.alerts, partitions: p.alerts ?? 3, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
    { name: topics.decisions, partitions: p.decisions ?? 3, cleanupPolicy: 'compact' },
    { name: topics.dlq, partitions: p.dlq ?? 1, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
    // One partition: restore reads the whole changelog anyway (filtered by the events
    // partition that leads each key), and a detector's state is small.
    ...stores.map((s) => ({ name: topics.state(s), partitions: p.state ?? 1, cleanupPolicy: 'compact' as const })),
  ];
}
