import type { Consumer } from 'kafkajs';
import { brokerUnavailable, kafkaErrorType } from './kafka-errors.js';
import { partitionNotOwned, type CommitRequest } from './manual-commit.js';

/** Broker answers meaning the member's generation is over: it may not own the partitions any more. */
const FENCED = new Set(['ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/**
 * consumer.commitOffsets, resolving only once the broker acknowledged every offset.
 * kafkajs's commitOffsets resolves without sending anything while its runner is not
 * running (stopping, or restarting after a crash) and swallows a failed commit then too;
 * the COMMIT_OFFSETS event, emitted synchronously after the broker's answer, is the only
 * proof that an offset was stored.
 */
export async function commitOffsetsAcknowledged(consumer: Consumer, offsets: CommitRequest, groupId: string): Promise<void> {
  const acked = new Set<string>();
  const stopListening = consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
    for (const t of e.payload.topics) for (const p of t.partitions) acked.add(ackKey(t.topic, p.partition, String(p.offset)));
  });
  try {
    await consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  } catch (e) {
    const type = kafkaErrorType(e);
    if (type !== undefined && FENCED.has(type)) throw partitionNotOwned(groupId, offsets);
    throw brokerUnavailable(e, 'cannot commit offsets', { groupId });
  } finally {
    stopListening();
  }
  const unacknowledged = offsets.filter((o) => !acked.has(ackKey(o.topic, o.partition, o.offset)));
  if (unacknowledged.length > 0) throw partitionNotOwned(groupId, unacknowledged);
}

const ackKey = (topic: string, partition: number, offset: string): string => `${topic}\u0000${partition}\u0000${offset}`;
