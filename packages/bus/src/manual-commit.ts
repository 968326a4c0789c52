import { PcxError } from '@portcullis/common';
import type { SubscribeOptions } from './bus.js';

export type CommitRequest = ReadonlyArray<{ topic: string; partition: number; offset: string }>;

/**
 * The checks of Subscription.commit that do not depend on the implementation, so both
 * buses reject the same requests with the same codes. A 'batch' subscription rejects
 * commit() rather than accepting it: there the bus owns the committed offset, and a
 * second writer would make the two buses differ in when a lower commit takes effect.
 */
export function assertCommitRequest(mode: SubscribeOptions['commit'], offsets: CommitRequest, groupId: string): void {
  if (mode !== 'manual') {
    throw new PcxError('PCX_BAD_REQUEST', "commit() is for subscriptions with commit: 'manual'; this one commits after each batch", { groupId });
  }
  for (const o of offsets) {
    if (!/^\d+$/.test(o.offset) || !Number.isInteger(o.partition) || o.partition < 0) {
      throw new PcxError('PCX_BAD_REQUEST', `cannot commit offset ${JSON.stringify(o.offset)} for ${o.topic}/${o.partition}: offsets are non-negative integers`, {
        groupId,
        topic: o.topic,
        partition: o.partition,
      });
    }
  }
}

/**
 * The partition moved to another member (or the subscription closed). Retriable
 * UNAVAILABLE like an unreachable broker, since the caller reacts the same way: it drops
 * the partition's uncommitted state and lets the owner replay from the last commit.
 * `reason` tells the two apart for callers and operators.
 */
export function partitionNotOwned(groupId: string, tps: ReadonlyArray<{ topic: string; partition: number }>): PcxError {
  const names = tps.map((tp) => `${tp.topic}/${tp.partition}`).join(', ');
  return new PcxError('PCX_AUDIT_UNAVAILABLE', `cannot commit ${names}: this member does not own it (any more)`, { groupId, partitions: names, reason: 'not-owner' });
}
