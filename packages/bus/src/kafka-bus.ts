import { PcxError, uuidv7, type Logger, type TopicSpec } from '@portcullis/common';
import { Kafka, logLevel, type Admin, type RetryOptions } from 'kafkajs';
import type { Bus, BusProducer, BusRecord, ProducerOptions, SubscribeOptions, Subscription } from './bus.js';
import { brokerUnavailable } from './kafka-errors.js';
import { pinoLogCreator } from './kafka-log.js';
import { KafkaBatchingProducer } from './kafka-producer.js';
import { createKafkaSubscription, toBusRecord } from './kafka-subscription.js';

export interface KafkaBusOptions {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  producer?: { lingerMs?: number; maxBatch?: number; maxBuffered?: number };
  /**
   * kafkajs retries. The defaults bound how long a call takes to fail while the broker is
   * down to a few seconds (100 ms doubling to 1 s, 4 retries), so outages surface as
   * PCX_AUDIT_UNAVAILABLE quickly instead of after kafkajs's default minutes.
   */
  retry?: RetryOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  handlerRetry?: { initialMs?: number; maxMs?: number };
  joinTimeoutMs?: number;
  readToEndTimeoutMs?: number;
  defaultMaxBatch?: number;
}

/**
 * The distributed bus over kafkajs. Topics are never created implicitly: ensureTopics
 * creates them with their partition counts and cleanup policies (auto topic creation is
 * off on the producer and consumers too).
 */
export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly logger: Logger;
  private readonly retry: RetryOptions;
  private adminClient: Promise<Admin> | undefined;
  private readonly producers = new Set<BusProducer>();
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    this.logger = opts.logger.child({ bus: 'kafka' });
    this.retry = opts.retry ?? { initialRetryTime: 100, maxRetryTime: 1_000, retries: 4 };
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: [...opts.brokers],
      logLevel: logLevel.WARN,
      logCreator: pinoLogCreator(this.logger.child({ component: 'kafkajs' })),
      connectionTimeout: opts.connectionTimeoutMs ?? 1_000,
      requestTimeout: opts.requestTimeoutMs ?? 5_000,
      retry: this.retry,
    });
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    this.assertOpen();
    try {
      const admin = await this.admin();
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name));
      if (missing.length === 0) return;
      // Resolves false when another process created them first: that is fine.
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          configEntries: [
            { name: 'cleanup.policy', value: s.cleanupPolicy },
            ...(s.cleanupPolicy === 'delete' && s.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(s.retentionMs) }] : []),
          ],
        })),
      });
    } catch (e) {
      this.resetAdmin();
      throw brokerUnavailable(e, 'cannot create topics', { topics: specs.map((s) => s.name).join(',') });
    }
  }

  async producer(options?: ProducerOptions): Promise<BusProducer> {
    this.assertOpen();
    const p = new KafkaBatchingProducer(
      this.kafka,
      {
        idempotent: options?.idempotent ?? true,
        lingerMs: options?.lingerMs ?? this.opts.producer?.lingerMs ?? 5,
        maxBatch: options?.maxBatch ?? this.opts.producer?.maxBatch ?? 1000,
        maxBuffered: this.opts.producer?.maxBuffered ?? 100_000,
        retry: this.retry,
        ackTimeoutMs: this.opts.requestTimeoutMs ?? 5_000,
      },
      this.logger,
    );
    this.producers.add(p);
    const close = p.close.bind(p);
    p.close = async () => {
      this.producers.delete(p);
      await close();
    };
    return p;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const sub = await createKafkaSubscription(
      this.kafka,
      () => this.admin(),
      options,
      {
        consumer: {
          sessionTimeout: this.opts.sessionTimeoutMs ?? 10_000,
          rebalanceTimeout: 30_000,
          heartbeatInterval: this.opts.heartbeatIntervalMs ?? 1_000,
          maxWaitTimeInMs: 100,
          retry: this.retry,
        },
        handlerRetry: { initialMs: this.opts.handlerRetry?.initialMs ?? 100, maxMs: this.opts.handlerRetry?.maxMs ?? 5_000 },
        joinTimeoutMs: this.opts.joinTimeoutMs ?? 30_000,
        defaultMaxBatch: this.opts.defaultMaxBatch ?? 500,
      },
      this.logger,
    );
    this.subscriptions.add(sub);
    const close = sub.close;
    sub.close = async () => {
      this.subscriptions.delete(sub);
      await close();
    };
    return sub;
  }

  /**
   * Reads every partition from its start to the end offset it had when called, with a
   * throwaway group that never commits (kafkajs has no manual assignment).
   */
  async readToEnd(topic: string, onRecord: (r: BusRecord) => void | Promise<void>): Promise<void> {
    this.assertOpen();
    const remaining = new Map<number, bigint>();
    try {
      for (const o of await (await this.admin()).fetchTopicOffsets(topic)) {
        if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high));
      }
    } catch (e) {
      this.resetAdmin();
      throw brokerUnavailable(e, 'cannot read topic offsets', { topic });
    }
    if (remaining.size === 0) return;

    const consumer = this.kafka.consumer({
      groupId: `portcullis-read-${uuidv7()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: this.opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: this.opts.heartbeatIntervalMs ?? 1_000,
      retry: this.retry,
    });
    const timeoutMs = this.opts.readToEndTimeoutMs ?? 120_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        let done = false;
        const finish = (e?: unknown) => {
          if (done) return;
          done = true;
          if (e === undefined) resolve();
          else reject(e instanceof PcxError ? e : brokerUnavailable(e, 'read to end failed', { topic }));
        };
        timer = setTimeout(() => finish(new PcxError('PCX_AUDIT_UNAVAILABLE', `reading ${topic} to its end timed out`, { topic, timeoutMs })), timeoutMs);
        consumer.on(consumer.events.CRASH, (e) => {
          if (!e.payload.restart) finish(e.payload.error);
        });
        const start = async () => {
          await consumer.connect();
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          await consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            eachBatch: async ({ batch }) => {
              const end = remaining.get(batch.partition);
              if (done || end === undefined) return;
              try {
                for (const m of batch.messages) {
                  if (BigInt(m.offset) >= end) break;
                  await onRecord(toBusRecord(topic, batch.partition, m));
                }
              } catch (e) {
                finish(e);
                return;
              }
              if (BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
              if (remaining.size === 0) finish();
            },
          });
        };
        start().catch(finish);
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch((e: unknown) => this.logger.debug({ err: e }, 'read consumer disconnect failed'));
    }
  }

  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    try {
      const offsets = await (await this.admin()).fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    } catch (e) {
      this.resetAdmin();
      throw brokerUnavailable(e, 'cannot read topic offsets', { topic });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.producers].map((p) => p.close()));
    const admin = this.adminClient;
    this.adminClient = undefined;
    if (admin) await admin.then((a) => a.disconnect()).catch(() => {});
  }

  private admin(): Promise<Admin> {
    if (!this.adminClient) {
      const connecting = (async () => {
        const a = this.kafka.admin({ retry: this.retry });
        await a.connect();
        return a;
      })();
      this.adminClient = connecting;
      // A failed connect is not cached: the next call tries again.
      connecting.catch(() => {
        if (this.adminClient === connecting) this.adminClient = undefined;
      });
    }
    return this.adminClient;
  }

  private resetAdmin(): void {
    const admin = this.adminClient;
    this.adminClient = undefined;
    if (admin) admin.then((a) => a.disconnect()).catch(() => {});
  }

  private assertOpen(): void {
    if (this.closed) throw new PcxError('PCX_INTERNAL', 'bus is closed');
  }
}

export function createKafkaBus(opts: KafkaBusOptions): KafkaBus {
  return new KafkaBus(opts);
}
