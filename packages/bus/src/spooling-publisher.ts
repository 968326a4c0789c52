import { PcxError, type Logger, type MetricsRegistry } from '@portcullis/common';
import type { Bus, BusProducer, OutgoingRecord } from './bus.js';
import { DiskSpool, type SpoolPosition } from './disk-spool.js';
import type { SpoolEntry } from './spool-frame.js';

export interface SpoolingPublisher {
  /** Non-blocking. Queues the record; if the broker cannot take it, appends it to the disk spool. Never throws. */
  publish(topic: string, record: OutgoingRecord): void;
  /**
   * For `audit: strict` connections: resolves once the broker acknowledged this record;
   * rejects PcxError PCX_AUDIT_UNAVAILABLE if not acked within timeoutMs (the record is
   * still kept for later delivery).
   */
  publishAcked(topic: string, record: OutgoingRecord, timeoutMs: number): Promise<void>;
  stats(): { queued: number; spooledRecords: number; spooledBytes: number; dropped: number; delivered: number };
  /** Flushes what it can, keeps the rest on disk. */
  close(): Promise<void>;
}

export interface SpoolingPublisherOptions {
  dir: string;
  /** Bound on the disk spool; beyond it the newest records are dropped (counted). */
  maxBytes: number;
  /** Bound on records waiting in memory; beyond it records go to the disk spool. Default 10 000. */
  maxQueued?: number;
  logger: Logger;
  metrics?: MetricsRegistry;
  /** First retry after a failed delivery; doubles up to retryMaxMs. Default 500. */
  retryMs?: number;
  retryMaxMs?: number;
  /** Records per delivery. Default 500. */
  batchSize?: number;
  /** A delivery not acknowledged within this counts as failed. Default 15 s. */
  sendTimeoutMs?: number;
  /** close() tries to deliver for at most this long before leaving the rest on disk. Default 5 s. */
  closeTimeoutMs?: number;
}

type Waiter = { resolve: () => void; reject: (e: unknown) => void; timer: NodeJS.Timeout };

/**
 * Publishes events without putting the broker on the command's path. Records form one
 * logical queue in publish order: a bounded memory queue in front, the disk spool behind
 * it. While the spool holds anything, new records go behind it, so per-key order holds
 * as long as nothing is dropped. One delivery is in flight at a time; a failed one goes
 * back to the head of the queue (on disk) and is retried with a back-off — the retry is
 * the probe that notices the broker is back.
 *
 * Delivery is at-least-once: a batch whose acknowledgement was lost is sent again, so a
 * consumer can see a record twice (in order) after an outage.
 */
export async function createSpoolingPublisher(bus: Bus, opts: SpoolingPublisherOptions): Promise<SpoolingPublisher> {
  const producer = await bus.producer({ idempotent: true });
  return new Publisher(producer, opts);
}

class Publisher implements SpoolingPublisher {
  private readonly spool: DiskSpool;
  private readonly logger: Logger;
  private queue: SpoolEntry[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private seq: number;
  private delivered = 0;
  private dropped = 0;
  private failures = 0;
  private outageSince: number | undefined;
  private dropLogged = false;
  private spoolErrorLogged = false;
  private pumping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed = false;
  private readonly maxQueued: number;
  private readonly retryMs: number;
  private readonly retryMaxMs: number;
  private readonly batchSize: number;
  private readonly sendTimeoutMs: number;
  private readonly droppedMetric;
  private readonly deliveredMetric;

  constructor(
    private readonly producer: BusProducer,
    private readonly opts: SpoolingPublisherOptions,
  ) {
    this.logger = opts.logger.child({ component: 'spooling-publisher' });
    const segmentBytes = Math.min(16 << 20, Math.max(64 << 10, Math.floor(opts.maxBytes / 8)));
    this.spool = DiskSpool.open(opts.dir, segmentBytes, this.logger);
    this.seq = this.spool.maxSeq;
    this.maxQueued = opts.maxQueued ?? 10_000;
    this.retryMs = opts.retryMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? Math.max(5_000, this.retryMs);
    this.batchSize = opts.batchSize ?? 500;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 15_000;
    const m = opts.metrics;
    this.droppedMetric = m?.counter('portcullis_bus_publish_dropped_total', 'Records dropped by the spooling publisher (spool full or closed).');
    this.deliveredMetric = m?.counter('portcullis_bus_publish_delivered_total', 'Records the broker acknowledged through the spooling publisher.');
    const spooled = m?.gauge('portcullis_bus_spool_records', 'Records waiting in the disk spool.');
    spooled?.onCollect(() => spooled.set(this.spool.records));
    const spooledBytes = m?.gauge('portcullis_bus_spool_bytes', 'Bytes waiting in the disk spool.');
    spooledBytes?.onCollect(() => spooledBytes.set(this.spool.bytes));
    const queued = m?.gauge('portcullis_bus_publish_queued', 'Records waiting in memory for the broker.');
    queued?.onCollect(() => queued.set(this.queue.length));
    if (this.spool.records > 0) {
      this.logger.info({ records: this.spool.records, bytes: this.spool.bytes }, 'spool holds records from an earlier run; delivering them first');
      this.kick();
    }
  }

  publish(topic: string, record: OutgoingRecord): void {
    this.enqueue(topic, record);
  }

  publishAcked(topic: string, record: OutgoingRecord, timeoutMs: number): Promise<void> {
    const seq = this.enqueue(topic, record);
    if (seq === undefined) return Promise.reject(new PcxError('PCX_AUDIT_UNAVAILABLE', 'audit event could not be queued (spool full or publisher closed)', { topic }));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        reject(new PcxError('PCX_AUDIT_UNAVAILABLE', 'event broker did not acknowledge the audit event in time', { topic, timeoutMs }));
      }, timeoutMs);
      this.waiters.set(seq, { resolve, reject, timer });
    });
  }

  stats() {
    return { queued: this.queue.length, spooledRecords: this.spool.records, spooledBytes: this.spool.bytes, dropped: this.dropped, delivered: this.delivered };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const deadline = Date.now() + (this.opts.closeTimeoutMs ?? 5_000);
    // Deliver while the broker takes records; give up at the first failure or the deadline.
    while ((this.queue.length > 0 || this.spool.records > 0) && this.outageSince === undefined && Date.now() < deadline) {
      this.kick();
      await (this.pumping ?? new Promise((r) => setTimeout(r, 10)));
    }
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.pumping;
    try {
      this.moveQueueToSpool();
      this.spool.close();
    } catch (e) {
      this.logger.error({ err: e, lost: this.queue.length }, 'could not write the publish queue to the spool on close');
    }
    for (const [, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new PcxError('PCX_AUDIT_UNAVAILABLE', 'publisher closed before the broker acknowledged'));
    }
    this.waiters.clear();
    if (this.spool.records > 0) this.logger.info({ records: this.spool.records, bytes: this.spool.bytes }, 'records left in the spool for the next start');
    await this.producer.close().catch((e: unknown) => this.logger.warn({ err: e }, 'producer close failed'));
  }

  /** Returns the record's sequence number, or undefined when it was dropped. Never throws. */
  private enqueue(topic: string, record: OutgoingRecord): number | undefined {
    if (this.closing) {
      this.drop('closed');
      return undefined;
    }
    const entry: SpoolEntry = { seq: ++this.seq, topic, record: { ...record, timestamp: record.timestamp ?? Date.now() } };
    if (this.spool.records === 0 && this.queue.length < this.maxQueued) {
      this.queue.push(entry);
      this.kick();
      return entry.seq;
    }
    // Behind the spool (or the memory queue is full): to disk, bounded by maxBytes.
    try {
      if (this.spool.bytes >= this.opts.maxBytes) {
        this.drop('spool full');
        return undefined;
      }
      this.spool.append(entry);
    } catch (e) {
      if (!this.spoolErrorLogged) {
        this.spoolErrorLogged = true;
        this.logger.error({ err: e, dir: this.opts.dir }, 'cannot write to the spool; dropping records (logged once)');
      }
      this.drop('spool error');
      return undefined;
    }
    this.kick();
    return entry.seq;
  }

  private drop(reason: string): void {
    this.dropped++;
    this.droppedMetric?.inc({ reason });
    if (!this.dropLogged) {
      this.dropLogged = true;
      this.logger.error({ reason, maxBytes: this.opts.maxBytes, spooledBytes: this.spool.bytes }, 'dropping newest events (logged once per outage; see portcullis_bus_publish_dropped_total)');
    }
  }

  private kick(): void {
    if (this.pumping || this.closed || this.retryTimer) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      let batch: SpoolEntry[];
      let fromDisk: { end: SpoolPosition; bytes: number } | undefined;
      if (this.queue.length > 0) {
        batch = this.queue.splice(0, this.batchSize);
      } else if (this.spool.records > 0) {
        const r = this.spool.read(this.batchSize);
        if (r.entries.length === 0) {
          this.logger.error({ records: this.spool.records }, 'spool claims records but none could be read; resetting its count');
          this.spool.advance(r.end, this.spool.records, this.spool.bytes);
          continue;
        }
        batch = r.entries;
        fromDisk = { end: r.end, bytes: r.entries.reduce((a, e) => a + e.size, 0) };
      } else {
        this.onDrained();
        return;
      }
      const ok = await this.deliver(batch);
      if (ok) {
        if (fromDisk) this.spool.advance(fromDisk.end, batch.length, fromDisk.bytes);
        this.delivered += batch.length;
        this.deliveredMetric?.inc(undefined, batch.length);
        this.resolveWaiters(batch[batch.length - 1]?.seq ?? 0);
        this.failures = 0;
        continue;
      }
      if (!fromDisk) {
        // Older than anything on disk: back to the head of the queue, on disk.
        try {
          this.spool.prepend([...batch, ...this.queue.splice(0)]);
        } catch (e) {
          this.logger.error({ err: e }, 'cannot spool undelivered records; keeping them in memory');
          this.queue.unshift(...batch);
        }
      }
      this.scheduleRetry();
      return;
    }
  }

  private async deliver(batch: readonly SpoolEntry[]): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const sends = (async () => {
        // Runs of one topic in order; each run is one send (one broker batch).
        for (let i = 0; i < batch.length; ) {
          const topic = batch[i]?.topic ?? '';
          let j = i;
          while (j < batch.length && batch[j]?.topic === topic) j++;
          await this.producer.send(
            topic,
            batch.slice(i, j).map((e) => e.record),
          );
          i = j;
        }
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PcxError('PCX_AUDIT_UNAVAILABLE', 'delivery timed out', { timeoutMs: this.sendTimeoutMs })), this.sendTimeoutMs);
      });
      sends.catch(() => {}); // a send that loses the race must not become an unhandled rejection
      await Promise.race([sends, timeout]);
      if (this.outageSince !== undefined) {
        this.logger.info({ outageMs: Date.now() - this.outageSince, spooledRecords: this.spool.records }, 'event broker reachable again; delivering the spool');
        this.outageSince = undefined;
      }
      return true;
    } catch (e) {
      if (this.outageSince === undefined) {
        this.outageSince = Date.now();
        this.logger.warn({ err: e, queued: this.queue.length, spooledRecords: this.spool.records }, 'event broker unavailable; spooling events to disk (logged once per outage)');
      }
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private scheduleRetry(): void {
    this.failures++;
    const delay = Math.min(this.retryMs * 2 ** (this.failures - 1), this.retryMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
    this.retryTimer.unref();
  }

  private onDrained(): void {
    this.dropLogged = false;
    this.spoolErrorLogged = false;
  }

  private resolveWaiters(upTo: number): void {
    for (const [seq, w] of this.waiters) {
      if (seq > upTo) break;
      clearTimeout(w.timer);
      this.waiters.delete(seq);
      w.resolve();
    }
  }

  private moveQueueToSpool(): void {
    if (this.queue.length === 0) return;
    const q = this.queue.splice(0);
    if (this.spool.records === 0) for (const e of q) this.spool.append(e);
    else this.spool.prepend(q);
  }
}
