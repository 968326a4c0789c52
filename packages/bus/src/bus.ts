import type { TopicSpec } from '@portcullis/common';

/**
 * The one messaging interface. Two implementations with the same semantics: Kafka
 * (kafkajs, kafka-bus.ts) for the distributed mode and in-process (memory-bus.ts) for
 * the embedded mode. Semantics both honour:
 *  - a record's partition is murmur2(key) % partitions (Kafka's default partitioner), so
 *    per-key order holds and both modes place keys alike;
 *  - consumer groups: each partition of a subscribed topic is owned by one member of a
 *    group; members joining or leaving rebalance;
 *  - at-least-once: a batch's offsets are committed only after its handler resolves; a
 *    handler that throws gets the same batch again (after a back-off). With
 *    `commit: 'manual'` the subscriber commits instead (Subscription.commit), and a handler
 *    that throws gets its partition again from the last commit (SubscribeOptions.commit);
 *  - compaction on `compact` topics: the latest value per key survives; a null value
 *    (tombstone) deletes the key;
 *  - records carry a timestamp (ms) and string headers.
 */
export interface Bus {
  readonly kind: 'kafka' | 'memory';
  /** Creates missing topics with their partition counts and cleanup policies. Idempotent. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /** A batching producer. Call close() to flush. */
  producer(options?: ProducerOptions): Promise<BusProducer>;
  /** Joins a consumer group and delivers batches per partition until the subscription is closed. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** Reads a topic from the beginning up to its current end (for rebuilding a view), then resolves. */
  readToEnd(topic: string, onRecord: (r: BusRecord) => void | Promise<void>): Promise<void>;
  /** End offsets per partition, for lag. */
  endOffsets(topic: string): Promise<Map<number, bigint>>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** Kafka idempotent producer (acks=all, one in flight). Default true. */
  idempotent?: boolean;
  /** Records are sent in batches after at most this long. Default from config. */
  lingerMs?: number;
  maxBatch?: number;
}

export interface OutgoingRecord {
  key: string | Buffer | null;
  /** null = tombstone (compacted topics). */
  value: Buffer | null;
  headers?: Record<string, string>;
  /** Event time in ms; defaults to now. */
  timestamp?: number;
}

export interface BusProducer {
  /**
   * Queues records and resolves once the broker has acknowledged them. Rejects with
   * PCX_AUDIT_UNAVAILABLE when the broker cannot be reached within the send timeout.
   */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** Waits until every queued record has been acknowledged (or failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface BusRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are int64; strings keep them exact. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, string>;
}

export interface BusBatch {
  topic: string;
  partition: number;
  records: BusRecord[];
  /** True while the member still owns the partition; long handlers check it. */
  isRunning(): boolean;
}

export interface SubscribeOptions {
  groupId: string;
  topics: readonly string[];
  /** Where a group with no committed offset starts. Default true (earliest). */
  fromBeginning?: boolean;
  /** Runs for each batch of one partition. In 'batch' mode offsets are committed after it resolves. */
  handler: (batch: BusBatch) => Promise<void>;
  /** Called when partitions are assigned (before their first batch) and revoked. */
  onAssign?: (assigned: ReadonlyArray<{ topic: string; partition: number }>) => Promise<void> | void;
  onRevoke?: (revoked: ReadonlyArray<{ topic: string; partition: number }>) => Promise<void> | void;
  /** Upper bound on records per batch. */
  maxBatch?: number;
  /**
   * 'batch' (default, today's behaviour): a batch's offsets are committed after its handler resolves.
   * 'manual': the member moves past a batch when its handler resolves but commits nothing;
   * the subscriber commits with Subscription.commit (for a commit interval: flush state,
   * then commit, every N records or T ms). In manual mode:
   *  - a handler that throws gets its partition again, after the back-off, from the
   *    member's last commit of it (or, before its first commit since it was assigned the
   *    partition, from the offset it started reading it at) — not just the failed batch.
   *    Records of batches that succeeded after that commit come again, so the subscriber
   *    rolls its state back to its last commit before it throws;
   *  - nothing is ever committed implicitly: not when a handler resolves or throws, not on
   *    a rebalance, not on close. A partition that moves to another member (rebalance,
   *    close, a member leaving) is read by its new owner from the last commit;
   *  - a member that keeps a partition across a rebalance may get it again from the last
   *    commit (Kafka restarts every partition of a new generation from the committed
   *    offset; the memory bus does not), so the subscriber skips records it already applied.
   */
  commit?: 'batch' | 'manual';
}

export interface Subscription {
  /** Stop fetching (back-pressure) without leaving the group. */
  pause(): void;
  resume(): void;
  /** Committed offset lag per partition: end offset − committed offset. */
  lag(): Promise<Array<{ topic: string; partition: number; lag: bigint }>>;
  /**
   * Manual mode: stores `offset` (the next record to read = last processed + 1, as Kafka
   * does) as the group's committed offset of each given partition, and makes it the point
   * a failed handler restarts the partition from. Resolves once stored (on Kafka: once the
   * broker acknowledged it); an empty list resolves at once. It may be called from inside
   * a handler (to commit up to the batch in hand) or from outside.
   *
   * Rejects, and the caller treats none of the offsets as committed:
   *  - PCX_AUDIT_UNAVAILABLE (retriable) with context `reason: 'not-owner'` when the member
   *    does not own a given partition (any more: it moved in a rebalance, or the
   *    subscription is closed). The reaction: drop that partition's uncommitted state; its
   *    owner replays from the last commit;
   *  - PCX_AUDIT_UNAVAILABLE when the broker cannot be reached or does not acknowledge;
   *  - PCX_BAD_REQUEST on a 'batch' subscription (the bus commits there) or for an offset
   *    that is not a non-negative integer.
   */
  commit(offsets: ReadonlyArray<{ topic: string; partition: number; offset: string }>): Promise<void>;
  close(): Promise<void>;
}
