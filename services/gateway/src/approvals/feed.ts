import { uuidv7, type Logger } from '@portcullis/common';
import type { Bus, BusRecord, Subscription } from '@portcullis/bus';
import type { ApprovalBook } from './book.js';
import { decodeApprovalState } from './codec.js';

export interface ApprovalFeed {
  close(): Promise<void>;
}

/**
 * Fills the book from portcullis.approvals and keeps it current, as the decision feed
 * does: the whole compacted topic first (the gateway serves only after that, so any
 * replica can take a vote or a re-submission for an approval another one opened), then
 * a subscription in a group unique to this process, from the beginning, because every
 * replica needs every approval. Replays are harmless: the book merges.
 */
export async function startApprovalFeed(opts: { bus: Bus; topic: string; gatewayId: string; book: ApprovalBook; logger: Logger; onUndecodable?: () => void }): Promise<ApprovalFeed> {
  const { bus, topic, book, logger } = opts;
  let undecodableLogged = false;
  const fold = (r: BusRecord): void => {
    // A tombstone: compaction's business; the book forgets decided approvals on its own.
    if (!r.value) return;
    try {
      book.apply(decodeApprovalState(r.value));
    } catch {
      opts.onUndecodable?.();
      if (!undecodableLogged) {
        undecodableLogged = true; // once, not per record; the counter has the rest
        logger.warn({ topic, partition: r.partition, offset: r.offset }, 'undecodable approval record skipped');
      }
    }
  };
  await bus.readToEnd(topic, fold);
  const subscription: Subscription = await bus.subscribe({
    groupId: `portcullis-gateway-approvals.${opts.gatewayId}.${uuidv7()}`,
    topics: [topic],
    fromBeginning: true,
    handler: async (batch) => {
      for (const r of batch.records) fold(r);
    },
  });
  logger.info({ topic, approvals: book.size() }, 'approval view ready');
  return { close: () => subscription.close() };
}
