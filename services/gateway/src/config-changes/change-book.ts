import { uuidv7, type Logger } from '@portcullis/common';
import type { Bus, BusRecord, Subscription } from '@portcullis/bus';
import { decodeChangeRequest, type ChangeRequestView } from './change-request.js';

/**
 * The change requests of portcullis.changes, as the admin API lists them: the compacted
 * topic read to its end before the gateway serves, then followed in a group unique to
 * this process (every replica lists every request). Latest value per key; a tombstone
 * removes it; an undecodable record is skipped and counted.
 */
export class ChangeBook {
  private readonly byId = new Map<string, ChangeRequestView>();

  apply(key: string, value: Buffer | null): boolean {
    if (value === null) {
      this.byId.delete(key);
      return true;
    }
    let v: ChangeRequestView;
    try {
      v = decodeChangeRequest(value);
    } catch {
      this.byId.delete(key);
      return false;
    }
    this.byId.set(key, v);
    return true;
  }

  get(id: string): ChangeRequestView | undefined {
    return this.byId.get(id);
  }

  list(): ChangeRequestView[] {
    return [...this.byId.values()].sort((a, b) => b.createdAt - a.createdAt || (a.changeId < b.changeId ? -1 : 1));
  }

  size(): number {
    return this.byId.size;
  }
}

export async function startChangeFeed(opts: { bus: Bus; topic: string; gatewayId: string; book: ChangeBook; logger: Logger; onUndecodable?: () => void }): Promise<{ close(): Promise<void> }> {
  const { bus, topic, book, logger } = opts;
  let logged = false;
  // The subscription starts from the beginning again after readToEnd; records already
  // folded are skipped, so a key never goes back to an older value meanwhile.
  const folded = new Map<number, bigint>();
  const fold = (r: BusRecord): void => {
    const offset = BigInt(r.offset);
    if (offset <= (folded.get(r.partition) ?? -1n)) return;
    folded.set(r.partition, offset);
    if (r.key === null) return;
    if (book.apply(r.key.toString('utf8'), r.value)) return;
    opts.onUndecodable?.();
    if (!logged) {
      logged = true; // once; the counter has the rest
      logger.warn({ topic, partition: r.partition, offset: r.offset }, 'undecodable change request skipped');
    }
  };
  await bus.readToEnd(topic, fold);
  const subscription: Subscription = await bus.subscribe({
    groupId: `portcullis-gateway-changes.${opts.gatewayId}.${uuidv7()}`,
    topics: [topic],
    fromBeginning: true,
    handler: async (batch) => {
      for (const r of batch.records) fold(r);
    },
  });
  logger.info({ topic, changes: book.size() }, 'change request view ready');
  return { close: () => subscription.close() };
}
