import type { BusRecord } from '@portcullis/bus';

interface PartitionState {
  /** Highest offset whose row is stored (or that needed no row), -1n before any. */
  written: bigint;
  /** Batches queued for writing, by their last offset, oldest first. */
  queued: Array<{ last: bigint; done: Promise<void> }>;
}

/**
 * Remembers, per topic-partition, which offsets are already stored or queued, so that a
 * batch the bus delivers again (after a handler gave up waiting on a store outage, or
 * after a rebalance) does not queue its rows a second time; it waits on the queued
 * write instead. Offsets are int64 strings; compared as bigints.
 */
export class PartitionProgress {
  private readonly parts = new Map<string, PartitionState>();

  private state(topic: string, partition: number): PartitionState {
    const k = `${topic}\u0000${partition}`;
    let s = this.parts.get(k);
    if (!s) {
      s = { written: -1n, queued: [] };
      this.parts.set(k, s);
    }
    return s;
  }

  /** Splits a batch into records not seen yet, and the queued writes that cover the rest. */
  split(topic: string, partition: number, records: readonly BusRecord[]): { fresh: BusRecord[]; waitFor: Array<Promise<void>> } {
    const s = this.state(topic, partition);
    const seenUpTo = s.queued.reduce((m, q) => (q.last > m ? q.last : m), s.written);
    const fresh = records.filter((r) => BigInt(r.offset) > seenUpTo);
    const first = records[0] ? BigInt(records[0].offset) : 0n;
    const waitFor = s.queued.filter((q) => q.last >= first).map((q) => q.done);
    return { fresh, waitFor };
  }

  /** Records that offsets up to `last` are queued behind `done` (resolves = stored). */
  track(topic: string, partition: number, last: string, done: Promise<void>): void {
    const s = this.state(topic, partition);
    const entry = { last: BigInt(last), done };
    s.queued.push(entry);
    done.then(
      () => {
        if (entry.last > s.written) s.written = entry.last;
        s.queued = s.queued.filter((q) => q !== entry);
      },
      // A write abandoned at close: forget it, so a later delivery queues the rows again.
      () => {
        s.queued = s.queued.filter((q) => q !== entry);
      },
    );
  }
}
