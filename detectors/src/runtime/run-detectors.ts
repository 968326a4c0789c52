import type { Bus, BusBatch, BusProducer, Subscription } from '@portcullis/bus';
import { Topics, isPcxError, stateTopic, type DetectorsConfig, type Logger, type MetricsRegistry, type TopicSpec, MetricsRegistry as Registry, DAY_MS } from '@portcullis/common';
import type { Scorer } from '../scorer.js';
import type { RiskAggregator } from '../scorers/risk-aggregation.js';
import { DetectorCore, WindowRolledBack, type BatchResult, type CoreOptions, type OutRecord } from './core.js';
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
  /** Wall-clock time between a partition's state flushes and offset commits (0 = every batch). Default from config (5 s). */
  commitIntervalMs?: number;
  /** A partition flushes sooner after this many records. Default from config. */
  commitMaxRecords?: number;
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
  /** State flushes (changelog written, offsets committed) and those that failed. */
  flushes: number;
  flushFailures: number;
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
 * alerts, decisions and dead letters. Every commit interval (or sooner after
 * commitMaxRecords) a partition flushes: the changelog gets each entity the interval
 * changed once, with each store's applied offset, and only once the broker has
 * acknowledged it are the offsets committed (the bus's manual mode). Like Kafka Streams'
 * commit.interval.ms, this is what keeps the changelog at a record per busy entity per
 * second instead of a record per entity per batch. Any failure puts the partition back
 * to its last flush and the bus re-delivers from the offset committed with it, so the
 * replay yields the same alerts under the same ids. commitIntervalMs 0 flushes and
 * commits after every batch. A partition's state is restored from the changelog when it
 * is assigned, so a restarted or rebalanced member neither forgets baselines nor raises
 * an old alert under a new id.
 */
export async function runDetectors(options: RunDetectorsOptions): Promise<DetectorRuntime> {
  const { bus, scorers } = options;
  const groupId = options.groupId ?? options.config?.groupId ?? DEFAULT_GROUP_ID;
  const topics: DetectorTopics = { ...DEFAULT_DETECTOR_TOPICS, state: (detector) => stateTopic(groupId, detector), ...options.topics };
  const logger = options.logger.child({ component: 'detectors', groupId });
  const m = detectorMetrics(options.metrics ?? new Registry());
  const bounds = options.config?.runtime;
  const commitIntervalMs = options.commitIntervalMs ?? bounds?.commitIntervalMs ?? 5_000;
  const commitMaxRecords = options.commitMaxRecords ?? bounds?.commitMaxRecords ?? 100_000;
  const windowed = commitIntervalMs > 0;
  const core = new DetectorCore(scorers, {
    ...(bounds ? { maxKeysPerPartition: bounds.maxKeysPerPartition, evictIntervalMs: bounds.evictIntervalMs, recentAlertIds: bounds.recentAlertIds } : {}),
    ...options.core,
    consumer: groupId,
    aggregator: options.aggregator,
    flush: windowed ? 'explicit' : 'batch',
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

  const counts = { events: 0, alerts: 0, decisions: 0, suppressed: 0, deadLetters: 0, duplicates: 0, publishFailures: 0, flushes: 0, flushFailures: 0 };
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
  const restoreOnce = async (partitions: readonly number[]): Promise<void> => {
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
  /** Retries a restore the broker could not serve yet (a changelog topic created a moment ago has no leader for a while). */
  const restore = async (partitions: readonly number[]): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await restoreOnce(partitions);
      } catch (e) {
        if (attempt >= 5 || !(isPcxError(e) && e.retriable)) throw e;
        logger.warn({ err: e, partitions, attempt }, 'state restore failed; retrying');
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
      }
    }
  };

  /**
   * Two phases: alerts, decisions and dead letters per batch; the changelog (with each
   * store's applied offset) only at a flush, after those were acknowledged. A crash in
   * between re-delivers from the last commit against the last flushed state, which
   * re-emits the same ids; a crash after the changelog but before the commit skips the
   * applied records on restore. The other order could restore a state whose alert was
   * never published — and skip the record that raised it.
   */
  const publish = async (batches: Array<[string, OutRecord[]]>): Promise<void> => {
    let records = 0;
    for (const [, r] of batches) records += r.length;
    await gate.track(records, () => Promise.all(batches.filter(([, r]) => r.length > 0).map(([topic, r]) => producer.send(topic, r))).then(() => undefined));
  };
  const changelogBatches = (changelog: Map<string, OutRecord[]>): Array<[string, OutRecord[]]> => [...changelog].map(([store, records]) => [topics.state(store), records]);

  // Per partition: work runs one at a time (a batch, or the timer's flush), the open
  // window's age and size, and partitions whose timer flush failed (their next batch
  // must make the bus rewind to the last commit, since the state went back to it).
  const chains = new Map<number, Promise<void>>();
  const windows = new Map<number, { openedAt: number; records: number }>();
  const mustRewind = new Set<number>();
  const serially = <T>(partition: number, work: () => Promise<T>): Promise<T> => {
    const run = (chains.get(partition) ?? Promise.resolve()).then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    chains.set(partition, tail);
    void tail.then(() => {
      if (chains.get(partition) === tail) chains.delete(partition);
    });
    return run;
  };

  /** Flushes a partition's open window: changelog, then the offset commit. On failure the partition is back at its last flush. */
  const flush = async (partition: number): Promise<void> => {
    // A first batch can finish before subscribe() has returned the subscription to commit
    // through: the window then stays open until the next batch or the timer.
    const sub = consuming.subscription;
    if (!sub) return;
    windows.delete(partition);
    const f = core.flush(partition);
    if (!f) return;
    try {
      await publish(changelogBatches(f.changelog));
      if (f.lastOffset >= 0) await sub.commit([{ topic: topics.events, partition, offset: String(f.lastOffset + 1) }]);
      counts.flushes += 1;
      m.flushes.inc();
    } catch (e) {
      // Still ours (a partition revoked meanwhile has no state left to put back).
      if (core.has(partition)) f.rollback();
      counts.flushFailures += 1;
      m.flushFailures.inc();
      throw e;
    }
  };

  const handler = (batch: BusBatch): Promise<void> =>
    serially(batch.partition, async () => {
      const partition = batch.partition;
      if (mustRewind.delete(partition)) throw new Error(`partition ${partition}: state went back to its last flush; replaying from the last commit`);
      if (!core.has(partition)) await restore([partition]);
      if (sides?.wants(batch.records)) await sides.catchUp(); // side inputs: views current before scoring
      let out: BatchResult;
      try {
        out = core.process(partition, batch.records);
      } catch (e) {
        windows.delete(partition); // the state is at the last flush: the bus re-delivers from the commit
        if (e instanceof WindowRolledBack) logger.warn({ partition }, 'a scorer failed inside the commit interval; replaying it from the last commit with that event parked');
        throw e;
      }
      try {
        await publish([
          [topics.decisions, out.decisions],
          [topics.alerts, out.alerts],
          [topics.dlq, out.deadLetters],
          ...changelogBatches(out.changelog),
        ]);
      } catch (e) {
        out.rollback();
        windows.delete(partition);
        counts.publishFailures += 1;
        m.publishFailures.inc();
        throw e;
      }
      count(out, partition);
      if (!windowed) return;
      const now = Date.now();
      const w = windows.get(partition) ?? { openedAt: now, records: 0 };
      w.records += batch.records.length;
      windows.set(partition, w);
      if (now - w.openedAt >= commitIntervalMs || w.records >= commitMaxRecords) await flush(partition);
    });

  const count = (out: BatchResult, partition: number): void => {
    counts.events += out.events;
    m.events.inc(undefined, out.events);
    counts.deadLetters += out.deadLetters.length;
    counts.duplicates += out.duplicates;
    if (out.duplicates) m.duplicates.inc(undefined, out.duplicates);
    m.deadLetters.inc(undefined, out.deadLetters.length);
    if (out.deadLetters.length > 0) logger.warn({ partition, count: out.deadLetters.length }, 'records sent to the dead-letter topic');
    for (const [detector, c] of out.perDetector) {
      counts.alerts += c.alerts;
      counts.decisions += c.decisions;
      counts.suppressed += c.suppressed;
      if (c.alerts) m.alerts.inc({ detector }, c.alerts);
      if (c.decisions) m.decisions.inc({ detector }, c.decisions);
      if (c.suppressed) m.suppressed.inc({ detector }, c.suppressed);
    }
  };

  /** Flushes the windows older than the interval, for partitions whose traffic stopped. */
  const flushDue = (all: boolean): Promise<void> => {
    const now = Date.now();
    const due = [...windows].filter(([, w]) => all || now - w.openedAt >= commitIntervalMs).map(([partition]) => partition);
    return Promise.all(
      due.map((partition) =>
        serially(partition, () => flush(partition)).catch((e: unknown) => {
          // The state went back to the last flush but the bus is past it: make it rewind.
          if (core.has(partition)) mustRewind.add(partition);
          logger.warn({ err: e, partition }, 'state flush failed; the partition replays from its last commit');
        }),
      ),
    ).then(() => undefined);
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
    commit: windowed ? 'manual' : 'batch',
    handler,
    onAssign: (tps) => restore(eventsTopicPartitions(tps)),
    onRevoke: (tps) => {
      // An unflushed window is dropped: the new owner replays it from the last commit.
      for (const p of eventsTopicPartitions(tps)) {
        core.revoke(p);
        windows.delete(p);
        mustRewind.delete(p);
      }
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
  const flushTimer = windowed ? setInterval(() => void flushDue(false), Math.max(10, Math.min(commitIntervalMs, 1_000) / 2)) : undefined;
  flushTimer?.unref();
  const started = Date.now();
  let closed = false;

  logger.info({ detectors: core.detectorNames(), topics: { ...topics, state: undefined } }, 'detectors running');
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(lagTimer);
      if (flushTimer) clearInterval(flushTimer);
      // A clean leave commits what it scored, so the next owner does not replay it.
      await flushDue(true);
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
