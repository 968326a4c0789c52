import { PcxError, type Logger } from '@portcullis/common';
import { Partitioners, type Kafka, type Message, type Producer, type RetryOptions, type TopicMessages } from 'kafkajs';
import type { BusProducer, OutgoingRecord } from './bus.js';
import { brokerUnavailable } from './kafka-errors.js';

export interface KafkaProducerSettings {
  idempotent: boolean;
  lingerMs: number;
  maxBatch: number;
  /** Records accepted but not yet sent; beyond it send rejects at once. */
  maxBuffered: number;
  retry: RetryOptions;
  /** Broker-side ack timeout per request. */
  ackTimeoutMs: number;
}

interface Pending {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Accumulates send() calls for up to lingerMs or maxBatch records and ships them with one
 * sendBatch; one batch is in flight at a time, so batches reach the broker in the order
 * their records were sent. After a failed batch the kafkajs producer is replaced: an
 * idempotent producer whose request may or may not have landed would otherwise reuse
 * sequence numbers and be fenced when the broker comes back.
 */
export class KafkaBatchingProducer implements BusProducer {
  private queue: Pending[] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private producer: Producer | undefined;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaProducerSettings,
    private readonly logger: Logger,
  ) {}

  send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new PcxError('PCX_INTERNAL', 'producer is closed', { topic }));
    if (records.length === 0) return Promise.resolve();
    if (this.buffered + records.length > this.settings.maxBuffered) {
      return Promise.reject(new PcxError('PCX_AUDIT_UNAVAILABLE', 'producer buffer is full', { topic, buffered: this.buffered }));
    }
    const now = Date.now();
    const messages = records.map(
      (r): Message => ({ key: r.key, value: r.value, headers: r.headers ? { ...r.headers } : undefined, timestamp: String(r.timestamp ?? now) }),
    );
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      this.buffered += messages.length;
      if (this.buffered >= this.settings.maxBatch || this.settings.lingerMs === 0) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.settings.lingerMs);
    });
  }

  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.sending) {
      this.kick();
      await this.sending;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.dropProducer();
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.sending || this.queue.length === 0) return;
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      let count = 0;
      while (this.queue.length > 0 && (count === 0 || count + (this.queue[0]?.messages.length ?? 0) <= this.settings.maxBatch)) {
        const p = this.queue.shift();
        if (!p) break;
        batch.push(p);
        count += p.messages.length;
      }
      // One TopicMessages per run of the same topic keeps the order of sends within a topic.
      const topicMessages: TopicMessages[] = [];
      for (const p of batch) {
        const last = topicMessages[topicMessages.length - 1];
        if (last && last.topic === p.topic) last.messages.push(...p.messages);
        else topicMessages.push({ topic: p.topic, messages: [...p.messages] });
      }
      try {
        const producer = await this.connected();
        await producer.sendBatch({ topicMessages, acks: -1, timeout: this.settings.ackTimeoutMs });
        for (const p of batch) p.resolve();
      } catch (e) {
        const err = brokerUnavailable(e, 'records not acknowledged', { records: count });
        for (const p of batch) p.reject(err);
        await this.dropProducer();
      } finally {
        this.buffered -= count;
      }
    }
  }

  private async connected(): Promise<Producer> {
    if (this.producer) return this.producer;
    const producer = this.kafka.producer({
      idempotent: this.settings.idempotent,
      maxInFlightRequests: this.settings.idempotent ? 1 : undefined,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: this.settings.retry,
    });
    try {
      await producer.connect();
    } catch (e) {
      await producer.disconnect().catch(() => {});
      throw e;
    }
    this.producer = producer;
    return producer;
  }

  private async dropProducer(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) {
      await p.disconnect().catch((e: unknown) => this.logger.debug({ err: e }, 'producer disconnect failed'));
    }
  }
}
