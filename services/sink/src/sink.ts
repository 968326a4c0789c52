import { PcxError, type Logger, type MetricsRegistry, type SinkConfig } from '@portcullis/common';
import type { Bus, BusBatch, BusProducer, OutgoingRecord, Subscription } from '@portcullis/bus';
import { insertRows, SinkTables, type ClickHouseClient, type SinkTable, type TableRows } from '@portcullis/store';
import { deadLetterRecord } from './dead-letter.js';
import { decodeRecord } from './decode.js';
import { PartitionProgress } from './partition-progress.js';
import { TableWriter } from './table-writer.js';
import { defaultSinkTopics, tableForTopic, type SinkTopics } from './topics.js';

export interface RunSinkOptions {
  bus: Bus;
  client: ClickHouseClient;
  database: string;
  config: SinkConfig;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Topic names; defaults from Topics. */
  topics?: Partial<SinkTopics>;
  /**
   * How long a consumer batch waits for its write before the handler gives up and lets
   * the bus deliver it again (its rows stay queued; the redelivery waits on them). Must
   * stay below the consumer session timeout, so a long store outage never costs the
   * group membership. Default 5 s.
   */
  maxHoldMs?: number;
}

export interface SinkStats {
  /** Rows stored, per table. */
  written: Record<SinkTable, number>;
  /** Rows waiting for or in an insert. */
  buffered: number;
  deadLetters: number;
  insertRetries: number;
  skipped: number;
  /** True while some table's inserts are failing. */
  storeOutage: boolean;
}

export interface SinkHandle {
  close(): Promise<void>;
  stats(): SinkStats;
}

/**
 * events, alerts, decisions, approvals and change requests → ClickHouse, at least once.
 * A consumer batch's handler resolves only after every row of it is stored, so offsets
 * are committed after the write; duplicates from redelivery collapse in
 * ReplacingMergeTree. Undecodable records go to the dead-letter topic and the pipeline
 * goes on (an undecodable change request also leaves a row: it withdrew its key). A store
 * outage holds the batches and retries with back-off forever; the subscription is
 * paused meanwhile (back-pressure) and nothing is dropped.
 */
export async function runSink(opts: RunSinkOptions): Promise<SinkHandle> {
  const topics: SinkTopics = { ...defaultSinkTopics, ...opts.topics };
  const { config, metrics } = opts;
  const logger = opts.logger.child({ component: 'sink' });
  const maxHoldMs = opts.maxHoldMs ?? 5_000;

  const written = metrics.counter('pcx_sink_rows_written_total', 'Rows stored in ClickHouse, by table.');
  const retries = metrics.counter('pcx_sink_insert_retries_total', 'Failed inserts that will be retried, by table.');
  const deadLetters = metrics.counter('pcx_sink_dead_letters_total', 'Undecodable records sent to the dead-letter topic, by source topic.');
  const skipped = metrics.counter('pcx_sink_records_skipped_total', 'Records with nothing to store (approvals tombstones), by topic.');
  const flushSeconds = metrics.histogram('pcx_sink_flush_seconds', 'Time to store one batch, retries included, by table.');
  const bufferedGauge = metrics.gauge('pcx_sink_buffered_rows', 'Rows waiting for or in an insert, by table.');

  // Set once subscribed; the writers' outage callbacks pause and resume it.
  const sub: { current?: Subscription } = {};
  let paused = false;
  const outageStarted = new Map<SinkTable, number>();
  const counts = { deadLetters: 0, insertRetries: 0, skipped: 0 };
  const writtenByTable = Object.fromEntries(SinkTables.map((t) => [t, 0])) as Record<SinkTable, number>;

  const writers = new Map<SinkTable, TableWriter>();
  for (const table of SinkTables) {
    writers.set(
      table,
      new TableWriter({
        table,
        batchRows: config.batchRows,
        flushMs: config.flushMs,
        retry: config.retry,
        // Each writer only ever holds rows decoded for its own table.
        insert: (rows) => insertRows(opts.client, opts.database, table, rows as Array<TableRows[SinkTable]>),
        onRetry: (err, attempt, delayMs) => {
          retries.inc({ table });
          counts.insertRetries++;
          if (!outageStarted.has(table)) {
            // Once per outage: the first failure says what and why; recovery says how long.
            outageStarted.set(table, Date.now());
            logger.warn({ err, table, attempt, retryInMs: delayMs }, 'store insert failed; holding the batch and retrying with back-off');
          }
          if (!paused && sub.current) {
            paused = true;
            sub.current.pause();
          }
        },
        onRecover: (attempts) => {
          const since = outageStarted.get(table) ?? Date.now();
          outageStarted.delete(table);
          logger.info({ table, attempts, outageMs: Date.now() - since }, 'store insert recovered');
          if (paused && outageStarted.size === 0 && sub.current) {
            paused = false;
            sub.current.resume();
          }
        },
        onFlushed: (rows, seconds) => {
          written.inc({ table }, rows);
          writtenByTable[table] += rows;
          flushSeconds.observe(seconds, { table });
        },
      }),
    );
  }
  bufferedGauge.onCollect(() => {
    for (const [table, w] of writers) bufferedGauge.set(w.buffered, { table });
  });

  const progress = new PartitionProgress();
  const producer: BusProducer = await opts.bus.producer();

  const handler = async (batch: BusBatch): Promise<void> => {
    const table = tableForTopic(topics, batch.topic);
    if (!table) throw new PcxError('PCX_INTERNAL', `sink received a batch of an unexpected topic`, { topic: batch.topic });
    const writer = writers.get(table);
    if (!writer) throw new PcxError('PCX_INTERNAL', `no writer for table ${table}`);
    const { fresh, waitFor } = progress.split(batch.topic, batch.partition, batch.records);
    const last = fresh[fresh.length - 1];
    if (last) {
      const rows: object[] = [];
      const dead: OutgoingRecord[] = [];
      const now = Date.now();
      for (const r of fresh) {
        const d = decodeRecord(table, r);
        if (d.kind === 'row') rows.push(d.row);
        else if (d.kind === 'skip') {
          skipped.inc({ topic: batch.topic });
          counts.skipped++;
        } else {
          dead.push(deadLetterRecord(r, d.reason, config.groupId, now));
          if (d.row) rows.push(d.row);
        }
      }
      // Dead letters first: if the send fails nothing of this batch is queued yet, and the
      // redelivery starts clean; once queued, offsets count as seen.
      if (dead.length > 0) {
        await producer.send(topics.dlq, dead);
        deadLetters.inc({ topic: batch.topic }, dead.length);
        counts.deadLetters += dead.length;
        logger.warn({ topic: batch.topic, partition: batch.partition, count: dead.length, offset: last.offset }, 'undecodable records sent to the dead-letter topic');
      }
      const done = rows.length > 0 ? writer.add(rows) : Promise.resolve();
      progress.track(batch.topic, batch.partition, last.offset, done);
      waitFor.push(done);
    }
    await holdAtMost(Promise.all(waitFor), maxHoldMs, table);
  };

  sub.current = await opts.bus.subscribe({
    groupId: config.groupId,
    topics: [topics.events, topics.alerts, topics.decisions, topics.approvals, topics.changes],
    fromBeginning: true,
    maxBatch: config.batchRows,
    handler,
  });
  logger.info({ groupId: config.groupId, database: opts.database }, 'sink running');

  let closing: Promise<void> | undefined;
  return {
    stats: () => ({
      written: { ...writtenByTable },
      buffered: [...writers.values()].reduce((n, w) => n + w.buffered, 0),
      deadLetters: counts.deadLetters,
      insertRetries: counts.insertRetries,
      skipped: counts.skipped,
      storeOutage: outageStarted.size > 0,
    }),
    close: () =>
      (closing ??= (async () => {
        // Writers first: their last attempt settles every waiting handler, so the
        // consumer can leave its group without waiting on a store that is down.
        await Promise.all([...writers.values()].map((w) => w.close()));
        await sub.current?.close();
        await producer.close();
        logger.info({ written: writtenByTable }, 'sink closed');
      })()),
  };
}

/** Waits for the batch's writes, but no longer than `ms`: past that the handler fails and the bus delivers the batch again. */
async function holdAtMost(p: Promise<unknown>, ms: number, table: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PcxError('PCX_STORE_UNAVAILABLE', `rows for ${table} not stored within ${ms} ms; batch will be delivered again`, { table })), ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
