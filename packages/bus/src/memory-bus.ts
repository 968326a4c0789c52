import { PcxError, type Logger, type MetricsRegistry, type TopicSpec } from '@portcullis/common';
import type { Bus, BusBatch, BusProducer, BusRecord, OutgoingRecord, ProducerOptions, SubscribeOptions, Subscription } from './bus.js';
import { assertCommitRequest, partitionNotOwned } from './manual-commit.js';
import { PartitionLog, type StoredRecord } from './memory-log.js';
import { createPartitioner } from './partitioner.js';

/**
 * The in-process bus of the embedded mode. It is a product, not a test double: the
 * same partitioning, consumer groups with rebalances, at-least-once delivery with
 * committed offsets, compaction and bounded retention as the Kafka bus, minus the
 * network and the disk (offsets and records live as long as the process).
 */
export interface MemoryBusOptions {
  logger: Logger;
  metrics?: MetricsRegistry;
  /** Bound on records kept per partition of a delete topic; the oldest are evicted. Default 50 000. */
  maxRecordsPerPartition?: number;
  /** How long a tombstone stays readable on a compact topic. Default 24 h (Kafka's delete.retention.ms). */
  tombstoneRetentionMs?: number;
  /** Back-off before a failed batch is delivered again: doubles from initialMs up to maxMs. */
  retry?: { initialMs?: number; maxMs?: number };
  /** Records per batch when a subscription does not say. Default 500. */
  maxBatch?: number;
  /** Clock for retention and timestamps (tests). */
  now?: () => number;
}

interface MemoryTopic {
  spec: TopicSpec;
  logs: PartitionLog[];
}

type TP = { topic: string; partition: number };
const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

interface Member {
  readonly id: number;
  readonly group: Group;
  readonly opts: SubscribeOptions;
  readonly assigned: Map<string, TP>;
  paused: boolean;
  closed: boolean;
}

interface Group {
  readonly id: string;
  members: Member[];
  readonly committed: Map<string, number>;
  /**
   * Where the owner reads a partition next. Set to the committed offset whenever the
   * partition is granted to a member, so a new owner never inherits the previous owner's
   * uncommitted progress; in 'batch' mode it moves with the committed offset.
   */
  readonly position: Map<string, number>;
  /** The member that may fetch a partition; absent while it moves between members. */
  readonly owner: Map<string, Member>;
  readonly inFlight: Map<string, Promise<void>>;
  readonly failures: Map<string, { attempts: number; until: number }>;
  rebalancing: Promise<void>;
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, MemoryTopic>();
  private readonly groups = new Map<string, Group>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly maxRecords: number;
  private readonly tombstoneRetentionMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  /** When the earliest armed backoff wake-up fires; one timer covers every waiting partition. */
  private retryWakeAt = Infinity;
  private readonly defaultMaxBatch: number;
  private readonly evictedMetric;
  private readonly evictionLogged = new Set<string>();
  private pumpScheduled = false;
  private nextMemberId = 1;
  private closed = false;

  constructor(opts: MemoryBusOptions) {
    this.logger = opts.logger.child({ bus: 'memory' });
    this.now = opts.now ?? Date.now;
    this.maxRecords = opts.maxRecordsPerPartition ?? 50_000;
    this.tombstoneRetentionMs = opts.tombstoneRetentionMs ?? 86_400_000;
    this.retryInitialMs = opts.retry?.initialMs ?? 100;
    this.retryMaxMs = opts.retry?.maxMs ?? 5_000;
    this.defaultMaxBatch = opts.maxBatch ?? 500;
    this.evictedMetric = opts.metrics?.counter('portcullis_bus_memory_evicted_total', 'Records evicted from the in-process bus by retention, per topic.');
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of specs) {
      const existing = this.topics.get(spec.name);
      if (existing) {
        if (existing.spec.partitions !== spec.partitions) {
          this.logger.warn({ topic: spec.name, have: existing.spec.partitions, want: spec.partitions }, 'topic exists with another partition count; keeping it');
        }
        continue;
      }
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
        throw new PcxError('PCX_CONFIG_INVALID', `topic ${spec.name} needs at least one partition`, { topic: spec.name });
      }
      const logs = Array.from(
        { length: spec.partitions },
        () =>
          new PartitionLog({
            compact: spec.cleanupPolicy === 'compact',
            maxRecords: this.maxRecords,
            retentionMs: spec.retentionMs,
            tombstoneRetentionMs: this.tombstoneRetentionMs,
          }),
      );
      this.topics.set(spec.name, { spec: { ...spec }, logs });
    }
  }

  async producer(_options?: ProducerOptions): Promise<BusProducer> {
    this.assertOpen();
    const partitioner = createPartitioner();
    let closed = false;
    return {
      send: async (topic, records) => {
        if (closed) throw new PcxError('PCX_INTERNAL', 'producer is closed', { topic });
        this.append(topic, records, partitioner);
      },
      flush: async () => {},
      close: async () => {
        closed = true;
      },
    };
  }

  /** Appends synchronously; delivery to consumers happens later, never inside send. */
  private append(topic: string, records: readonly OutgoingRecord[], partition: (key: Buffer | null, n: number) => number): void {
    this.assertOpen();
    const t = this.requireTopic(topic);
    const now = this.now();
    for (const r of records) {
      const key = r.key === null ? null : Buffer.from(r.key);
      if (key === null && t.spec.cleanupPolicy === 'compact') {
        throw new PcxError('PCX_BAD_REQUEST', `a record on compacted topic ${topic} needs a key`, { topic });
      }
      const p = partition(key, t.logs.length);
      const log = t.logs[p];
      if (!log) throw new PcxError('PCX_INTERNAL', 'partitioner chose a missing partition', { topic, partition: p });
      const { evicted } = log.append(
        { key, value: r.value === null ? null : Buffer.from(r.value), timestamp: r.timestamp ?? now, headers: { ...r.headers } },
        now,
      );
      if (evicted > 0) this.countEvicted(topic, evicted);
    }
    this.schedule();
  }

  private countEvicted(topic: string, n: number): void {
    this.evictedMetric?.inc({ topic }, n);
    if (!this.evictionLogged.has(topic)) {
      this.evictionLogged.add(topic);
      this.logger.warn({ topic, maxRecordsPerPartition: this.maxRecords }, 'retention is evicting records from the in-process bus (logged once per topic; see portcullis_bus_memory_evicted_total)');
    }
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    for (const topic of opts.topics) this.requireTopic(topic);
    let group = this.groups.get(opts.groupId);
    if (!group) {
      group = { id: opts.groupId, members: [], committed: new Map(), position: new Map(), owner: new Map(), inFlight: new Map(), failures: new Map(), rebalancing: Promise.resolve() };
      this.groups.set(opts.groupId, group);
    }
    const member: Member = { id: this.nextMemberId++, group, opts, assigned: new Map(), paused: false, closed: false };
    group.members.push(member);
    await this.rebalance(group, []);

    const subscription: Subscription = {
      pause: () => {
        member.paused = true;
      },
      resume: () => {
        member.paused = false;
        this.schedule();
      },
      lag: async () => this.lag(member),
      commit: async (offsets) => {
        assertCommitRequest(opts.commit, offsets, opts.groupId);
        // Ownership lasts until the in-flight batch of a revoked partition has finished
        // (as on Kafka, where the old owner may commit until it rejoins), then ends.
        const notOwned = offsets.filter((o) => member.closed || !member.assigned.has(tpKey(o.topic, o.partition)));
        if (notOwned.length > 0) throw partitionNotOwned(opts.groupId, notOwned);
        for (const o of offsets) member.group.committed.set(tpKey(o.topic, o.partition), Number(o.offset));
      },
      close: async () => {
        if (member.closed) return;
        member.closed = true;
        this.subscriptions.delete(subscription);
        const g = member.group;
        g.members = g.members.filter((m) => m !== member);
        await this.rebalance(g, [member]);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async readToEnd(topic: string, onRecord: (r: BusRecord) => void | Promise<void>): Promise<void> {
    this.assertOpen();
    const t = this.requireTopic(topic);
    const ends = t.logs.map((l) => l.endOffset);
    for (let p = 0; p < t.logs.length; p++) {
      const log = t.logs[p];
      const end = ends[p] ?? 0;
      if (!log) continue;
      let from = log.startOffset;
      while (from < end) {
        const chunk = log.read(from, 1000, end);
        if (chunk.length === 0) break;
        for (const r of chunk) await onRecord(toBusRecord(topic, p, r));
        from = (chunk[chunk.length - 1]?.offset ?? end) + 1;
      }
    }
  }

  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const t = this.requireTopic(topic);
    return new Map(t.logs.map((l, p) => [p, BigInt(l.endOffset)]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.closed = true;
  }

  // ---- consumer groups -------------------------------------------------------------

  /**
   * Recomputes who owns which partition and moves the partitions that change hands:
   * the old owner's in-flight batch finishes (and, in 'batch' mode, commits), onRevoke
   * runs, then the new owner's onAssign, and only then its first batch, read from the
   * committed offset. Rebalances of one group run one at a time; `left` are members that
   * just left and lose everything.
   */
  private rebalance(group: Group, left: Member[]): Promise<void> {
    const run = group.rebalancing.then(() => this.doRebalance(group, left));
    group.rebalancing = run.catch((e: unknown) => {
      this.logger.error({ err: e, groupId: group.id }, 'rebalance failed');
    });
    return group.rebalancing;
  }

  private async doRebalance(group: Group, left: Member[]): Promise<void> {
    const target = this.computeAssignment(group);
    const revokes: Array<{ member: Member; tps: Array<[string, TP]> }> = [];
    for (const member of [...group.members, ...left]) {
      const keep = target.get(member) ?? new Map<string, TP>();
      const tps = [...member.assigned].filter(([k]) => !keep.has(k));
      if (tps.length === 0) continue;
      for (const [k] of tps) if (group.owner.get(k) === member) group.owner.delete(k);
      revokes.push({ member, tps });
    }
    await Promise.all(revokes.flatMap(({ tps }) => tps.map(([k]) => group.inFlight.get(k) ?? Promise.resolve())));
    for (const { member, tps } of revokes) {
      for (const [k] of tps) member.assigned.delete(k);
      await this.callback(member, 'onRevoke', tps.map(([, tp]) => tp));
    }
    for (const [member, tps] of target) {
      const added = [...tps].filter(([k]) => !member.assigned.has(k));
      if (added.length === 0) continue;
      for (const [k, tp] of added) {
        if (!group.committed.has(k)) {
          const log = this.topics.get(tp.topic)?.logs[tp.partition];
          group.committed.set(k, member.opts.fromBeginning === false ? (log?.endOffset ?? 0) : (log?.startOffset ?? 0));
        }
      }
      await this.callback(
        member,
        'onAssign',
        added.map(([, tp]) => tp),
      );
      if (member.closed) continue; // left while onAssign ran; the next rebalance reassigns
      for (const [k, tp] of added) {
        member.assigned.set(k, tp);
        group.owner.set(k, member);
        group.position.set(k, group.committed.get(k) ?? 0);
      }
    }
    this.schedule();
  }

  /** Balanced: each partition goes to the subscribed member owning fewest so far, earliest joiner first. */
  private computeAssignment(group: Group): Map<Member, Map<string, TP>> {
    const out = new Map<Member, Map<string, TP>>(group.members.map((m) => [m, new Map()]));
    const topics = [...new Set(group.members.flatMap((m) => m.opts.topics))].sort();
    for (const topic of topics) {
      const partitions = this.topics.get(topic)?.logs.length ?? 0;
      const eligible = group.members.filter((m) => m.opts.topics.includes(topic));
      for (let p = 0; p < partitions; p++) {
        let best: Member | undefined;
        for (const m of eligible) if (!best || (out.get(m)?.size ?? 0) < (out.get(best)?.size ?? 0)) best = m;
        if (best) out.get(best)?.set(tpKey(topic, p), { topic, partition: p });
      }
    }
    return out;
  }

  private async callback(member: Member, which: 'onAssign' | 'onRevoke', tps: TP[]): Promise<void> {
    const fn = member.opts[which];
    if (!fn || tps.length === 0) return;
    try {
      await fn(tps);
    } catch (e) {
      this.logger.error({ err: e, groupId: member.group.id, callback: which }, 'rebalance callback threw; continuing');
    }
  }

  private lag(member: Member): Array<{ topic: string; partition: number; lag: bigint }> {
    const out: Array<{ topic: string; partition: number; lag: bigint }> = [];
    for (const topic of member.opts.topics) {
      const t = this.topics.get(topic);
      if (!t) continue;
      t.logs.forEach((log, partition) => {
        const committed = member.group.committed.get(tpKey(topic, partition)) ?? (member.opts.fromBeginning === false ? log.endOffset : log.startOffset);
        out.push({ topic, partition, lag: BigInt(Math.max(0, log.endOffset - Math.max(committed, log.startOffset))) });
      });
    }
    return out;
  }

  // ---- delivery --------------------------------------------------------------------

  /** Delivery always runs from the event loop, never inside the caller's send. */
  private schedule(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const now = this.now();
    let nextRetryAt = Infinity;
    for (const group of this.groups.values()) {
      for (const [k, member] of group.owner) {
        if (member.paused || member.closed || group.inFlight.has(k)) continue;
        const failure = group.failures.get(k);
        if (failure && failure.until > now) {
          nextRetryAt = Math.min(nextRetryAt, failure.until);
          continue;
        }
        const tp = member.assigned.get(k);
        if (tp) this.dispatch(group, member, k, tp);
      }
    }
    // A backoff timer can fire a millisecond before the wall clock reaches `until`
    // (timers run on a monotonic clock); without a fresh wake-up the partition would
    // never be retried.
    if (nextRetryAt !== Infinity && nextRetryAt < this.retryWakeAt) {
      this.retryWakeAt = nextRetryAt;
      setTimeout(() => {
        this.retryWakeAt = Infinity;
        this.schedule();
      }, Math.max(1, nextRetryAt - now)).unref();
    }
  }

  private dispatch(group: Group, member: Member, k: string, tp: TP): void {
    const log = this.topics.get(tp.topic)?.logs[tp.partition];
    if (!log) return;
    const manual = member.opts.commit === 'manual';
    const from = Math.max(group.position.get(k) ?? log.startOffset, log.startOffset);
    const records = log.read(from, member.opts.maxBatch ?? this.defaultMaxBatch);
    if (records.length === 0) {
      // Everything from `from` on was compacted away: nothing to deliver, move on.
      if (from < log.endOffset) this.advance(group, k, log.endOffset, manual);
      return;
    }
    const batch: BusBatch = {
      topic: tp.topic,
      partition: tp.partition,
      records: records.map((r) => toBusRecord(tp.topic, tp.partition, r)),
      isRunning: () => !member.closed && group.owner.get(k) === member,
    };
    const last = records[records.length - 1]?.offset ?? from;
    const done = (async () => {
      try {
        await member.opts.handler(batch);
        this.advance(group, k, last + 1, manual);
        const failure = group.failures.get(k);
        if (failure) {
          group.failures.delete(k);
          this.logger.info({ groupId: group.id, topic: tp.topic, partition: tp.partition, attempts: failure.attempts }, 'batch handler recovered');
        }
      } catch (e) {
        const attempts = (group.failures.get(k)?.attempts ?? 0) + 1;
        const delay = Math.min(this.retryInitialMs * 2 ** (attempts - 1), this.retryMaxMs);
        group.failures.set(k, { attempts, until: this.now() + delay });
        // Manual mode: the subscriber rolled its state back to its last commit, so the
        // partition restarts there. The member's last commit is the group's committed
        // offset: only the owner commits, and it is set when the partition is granted.
        if (manual && member.assigned.has(k)) group.position.set(k, group.committed.get(k) ?? from);
        const again = manual ? 'the partition will be delivered again from its last commit' : 'the batch will be delivered again';
        this.logger.warn({ err: e, groupId: group.id, topic: tp.topic, partition: tp.partition, offset: from, attempts, retryInMs: delay }, `batch handler failed; ${again}`);
      } finally {
        group.inFlight.delete(k);
        this.schedule();
      }
    })();
    group.inFlight.set(k, done);
  }

  /** Moves the owner past a batch; only 'batch' mode commits as it goes. */
  private advance(group: Group, k: string, next: number, manual: boolean): void {
    group.position.set(k, next);
    if (!manual) group.committed.set(k, next);
  }

  private requireTopic(topic: string): MemoryTopic {
    const t = this.topics.get(topic);
    if (!t) throw new PcxError('PCX_NOT_FOUND', `topic ${topic} does not exist (ensureTopics first)`, { topic });
    return t;
  }

  private assertOpen(): void {
    if (this.closed) throw new PcxError('PCX_INTERNAL', 'bus is closed');
  }
}

function toBusRecord(topic: string, partition: number, r: StoredRecord): BusRecord {
  return { topic, partition, offset: String(r.offset), key: r.key, value: r.value, timestamp: r.timestamp, headers: { ...r.headers } };
}

export function createMemoryBus(opts: MemoryBusOptions): MemoryBus {
  return new MemoryBus(opts);
}
