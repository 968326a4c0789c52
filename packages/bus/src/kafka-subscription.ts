import type { Logger } from '@portcullis/common';
import type { Admin, Consumer, ConsumerConfig, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { BusRecord, SubscribeOptions, Subscription } from './bus.js';
import { commitOffsetsAcknowledged } from './kafka-commit.js';
import { brokerUnavailable } from './kafka-errors.js';
import { assertCommitRequest, partitionNotOwned } from './manual-commit.js';

type TP = { topic: string; partition: number };

export interface KafkaSubscriptionSettings {
  consumer: Omit<ConsumerConfig, 'groupId'>;
  /** Back-off before a failed batch is handled again: doubles from initialMs up to maxMs. */
  handlerRetry: { initialMs: number; maxMs: number };
  /** subscribe() resolves once the member joined its group, or after this long (logged). */
  joinTimeoutMs: number;
  defaultMaxBatch: number;
}

export function toBusRecord(topic: string, partition: number, m: KafkaMessage): BusRecord {
  return { topic, partition, offset: m.offset, key: m.key, value: m.value, timestamp: Number(m.timestamp), headers: stringHeaders(m.headers) };
}

function stringHeaders(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of Object.entries(h)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = first.toString();
  }
  return out;
}

const tpKey = (tp: TP): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * A consumer-group member over kafkajs. Offsets are resolved per batch only after the
 * handler resolved and committed at once (autoCommitThreshold 1), so a crash re-delivers
 * at most the batch in hand. A failing handler is retried in place with a back-off while
 * heartbeating, so the member keeps its partitions; a rebalance interrupts the retry (the
 * heartbeat throws) and the new owner gets the batch from the committed offset.
 *
 * Manual mode runs kafkajs with autoCommit false: every implicit commit of progress in
 * kafkajs (after a batch, on a handler error, on a rebalancing heartbeat, in seek) is
 * gated by it. The one commit it does not gate is OffsetOutOfRange recovery, which
 * commits the reset offset (earliest, or latest with fromBeginning false) when the
 * position fell out of the log — a reset, not progress. A handler that resolved still
 * resolves its offsets, which moves only kafkajs's in-memory fetch position (without it
 * kafkajs fetches the batch again). A failing handler makes the member seek the partition
 * back to its restart point and drop the batch in hand (seeking makes it stale).
 *
 * kafkajs has no hook before partitions are taken away (eager protocol): onRevoke and
 * onAssign run on GROUP_JOIN, computed from the previous assignment, and every batch
 * waits until they have settled.
 */
export async function createKafkaSubscription(kafka: Kafka, admin: () => Promise<Admin>, opts: SubscribeOptions, settings: KafkaSubscriptionSettings, parentLogger: Logger): Promise<Subscription> {
  const logger = parentLogger.child({ groupId: opts.groupId });
  const consumer: Consumer = kafka.consumer({ ...settings.consumer, groupId: opts.groupId, allowAutoTopicCreation: false });
  let assigned = new Map<string, TP>();
  let settled: Promise<void> = Promise.resolve();
  const manual = opts.commit === 'manual';
  /**
   * Manual mode: where a partition is read again after a handler failed — this member's
   * last commit of it, or the first offset delivered since it was assigned. Every
   * GROUP_JOIN clears it: kafkajs starts each generation with a new OffsetManager that
   * reads every partition, kept ones too, from the broker's committed offset, so the
   * first delivery of a generation is a fresh start point.
   */
  const restartAt = new Map<string, string>();
  /** Manual mode: failed attempts per partition, for the back-off (the batch is dropped between attempts). */
  const attempts = new Map<string, number>();
  let closed = false;
  let joined: () => void = () => {};
  const firstJoin = new Promise<void>((r) => (joined = r));

  const callback = async (which: 'onAssign' | 'onRevoke', tps: TP[]): Promise<void> => {
    const fn = opts[which];
    if (!fn || tps.length === 0) return;
    try {
      await fn(tps);
    } catch (e) {
      logger.error({ err: e, callback: which }, 'rebalance callback threw; continuing');
    }
  };

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const next = new Map<string, TP>();
    for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
      for (const partition of partitions) next.set(tpKey({ topic, partition }), { topic, partition });
    }
    const revoked = [...assigned].filter(([k]) => !next.has(k)).map(([, tp]) => tp);
    const added = [...next].filter(([k]) => !assigned.has(k)).map(([, tp]) => tp);
    assigned = next;
    restartAt.clear();
    attempts.clear();
    settled = settled.then(async () => {
      await callback('onRevoke', revoked);
      await callback('onAssign', added);
    });
    joined();
  });
  consumer.on(consumer.events.CRASH, (e) => {
    logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning ?? true });
  } catch (e) {
    await consumer.disconnect().catch(() => {});
    throw brokerUnavailable(e, 'cannot join consumer group', { groupId: opts.groupId });
  }

  const maxBatch = opts.maxBatch ?? settings.defaultMaxBatch;
  await consumer.run({
    // eachBatch's commitOffsetsIfNecessary is not gated by autoCommit (only by the
    // threshold and interval), so manual mode sets neither and never calls it.
    ...(manual ? { autoCommit: false } : { autoCommit: true, autoCommitThreshold: 1 }),
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      await settled;
      const running = () => isRunning() && !isStale() && !closed;
      const key = tpKey(batch);
      for (let i = 0; i < batch.messages.length && running(); i += maxBatch) {
        const chunk = batch.messages.slice(i, i + maxBatch);
        const records = chunk.map((m) => toBusRecord(batch.topic, batch.partition, m));
        const first = records[0];
        if (manual && first) {
          if (!restartAt.has(key)) restartAt.set(key, first.offset);
          try {
            await opts.handler({ topic: batch.topic, partition: batch.partition, records, isRunning: running });
            attempts.delete(key);
          } catch (e) {
            const attempt = (attempts.get(key) ?? 0) + 1;
            attempts.set(key, attempt);
            const delay = Math.min(settings.handlerRetry.initialMs * 2 ** (attempt - 1), settings.handlerRetry.maxMs);
            const from = restartAt.get(key) ?? first.offset;
            logger.warn({ err: e, topic: batch.topic, partition: batch.partition, offset: first.offset, restartAt: from, attempt, retryInMs: delay }, 'batch handler failed; the partition will be delivered again from its last commit');
            await sleepWithHeartbeat(delay, heartbeat);
            if (!running()) return; // not ours any more: the next owner starts from the committed offset
            consumer.seek({ topic: batch.topic, partition: batch.partition, offset: from });
            return;
          }
          const last = chunk[chunk.length - 1];
          if (last) resolveOffset(last.offset);
          await heartbeat();
          continue;
        }
        for (let attempt = 1; ; attempt++) {
          try {
            await opts.handler({ topic: batch.topic, partition: batch.partition, records, isRunning: running });
            break;
          } catch (e) {
            const delay = Math.min(settings.handlerRetry.initialMs * 2 ** (attempt - 1), settings.handlerRetry.maxMs);
            logger.warn({ err: e, topic: batch.topic, partition: batch.partition, offset: records[0]?.offset, attempt, retryInMs: delay }, 'batch handler failed; the batch will be delivered again');
            await sleepWithHeartbeat(delay, heartbeat);
            if (!running()) return; // not ours any more: the next owner starts from the committed offset
          }
        }
        const last = chunk[chunk.length - 1];
        if (last) resolveOffset(last.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      }
    },
  });

  let joinTimer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((r) => (joinTimer = setTimeout(() => r(true), settings.joinTimeoutMs)));
  if (await Promise.race([firstJoin.then(() => false), timedOut])) {
    logger.warn({ timeoutMs: settings.joinTimeoutMs }, 'consumer has not joined its group yet; continuing in the background');
  }
  clearTimeout(joinTimer);
  await settled;

  return {
    pause: () => consumer.pause(opts.topics.map((topic) => ({ topic }))),
    resume: () => consumer.resume(opts.topics.map((topic) => ({ topic }))),
    commit: async (offsets) => {
      assertCommitRequest(opts.commit, offsets, opts.groupId);
      if (offsets.length === 0) return;
      const notOwned = offsets.filter((o) => closed || !assigned.has(tpKey(o)));
      if (notOwned.length > 0) throw partitionNotOwned(opts.groupId, notOwned);
      await commitOffsetsAcknowledged(consumer, offsets, opts.groupId);
      for (const o of offsets) if (assigned.has(tpKey(o))) restartAt.set(tpKey(o), o.offset);
    },
    lag: async () => {
      try {
        const a = await admin();
        const committed = await a.fetchOffsets({ groupId: opts.groupId, topics: [...opts.topics] });
        const out: Array<{ topic: string; partition: number; lag: bigint }> = [];
        for (const topic of opts.topics) {
          const ends = await a.fetchTopicOffsets(topic);
          const byPartition = new Map(committed.find((c) => c.topic === topic)?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
          for (const e of ends) {
            const high = BigInt(e.high);
            const low = BigInt(e.low);
            const c = byPartition.get(e.partition) ?? -1n;
            const from = c >= 0n ? c : opts.fromBeginning === false ? high : low;
            out.push({ topic, partition: e.partition, lag: high > from ? high - from : 0n });
          }
        }
        return out;
      } catch (e) {
        throw brokerUnavailable(e, 'cannot read group offsets', { groupId: opts.groupId });
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await consumer.disconnect().catch((e: unknown) => logger.warn({ err: e }, 'consumer disconnect failed'));
      const revoked = [...assigned.values()];
      assigned = new Map();
      await settled;
      await callback('onRevoke', revoked);
    },
  };
}

async function sleepWithHeartbeat(ms: number, heartbeat: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    // A rebalance makes heartbeat() throw; that must reach kafkajs so the member rejoins.
    await heartbeat();
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(left, 500)));
  }
}
