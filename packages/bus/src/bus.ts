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
 *    handler that throws gets the same batch again (after a back-off);
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
  /** Runs for each batch of one partition. Offsets are committed after it resolves. */
  handler: (batch: BusBatch) => Promise<void>;
  /** Called when partitions are assigned (before their first batch) and revoked. */
  onAssign?: (assigned: ReadonlyArray<{ topic: string; partition: number }>) => Promise<void> | void;
  onRevoke?: (revoked: ReadonlyArray<{ topic: string; partition: number }>) => Promise<void> | void;
  /** Upper bound on records per batch. */
  maxBatch?: number;
}

export interface Subscription {
  /** Stop fetching (back-pressure) without leaving the group. */
  pause(): void;
  resume(): void;
  /** Committed offset lag per partition. */
  lag(): Promise<Array<{ topic: string; partition: number; lag: bigint }>>;
  close(): Promise<void>;
}
