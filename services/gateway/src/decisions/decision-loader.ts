import { uuidv7, type Logger } from '@portcullis/common';
import type { Bus, BusRecord, Subscription } from '@portcullis/bus';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { DecisionView } from './decision-view.js';

export interface DecisionFeed {
  close(): Promise<void>;
}

/**
 * Fills the view from portcullis.decisions and keeps it current: first the whole topic
 * up to its end (the caller serves only after this resolves), then a live subscription.
 * The group id is unique per gateway process, because every gateway must see every
 * decision rather than share partitions with its peers. The subscription starts from the
 * beginning so nothing published between the two reads is missed; the view skips
 * offsets it already has.
 */
export async function startDecisionFeed(opts: {
  bus: Bus;
  topic: string;
  gatewayId: string;
  view: DecisionView;
  logger: Logger;
  metrics: GatewayMetrics;
}): Promise<DecisionFeed> {
  const { bus, topic, view, logger, metrics } = opts;
  let undecodableLogged = false;
  const fold = (r: BusRecord): void => {
    const outcome = view.apply(r);
    metrics.decisionRecords.inc({ outcome });
    if (outcome === 'undecodable' && !undecodableLogged) {
      undecodableLogged = true; // once, not per record; the counter has the rest
      logger.warn({ topic, partition: r.partition, offset: r.offset }, 'undecodable decision record skipped');
    }
  };

  await bus.readToEnd(topic, fold);
  const subscription: Subscription = await bus.subscribe({
    groupId: `portcullis-gateway.${opts.gatewayId}.${uuidv7()}`,
    topics: [topic],
    fromBeginning: true,
    handler: async (batch) => {
      for (const r of batch.records) fold(r);
    },
  });
  // Expired decisions need no record to lapse; pruning only keeps the map small.
  const pruner = setInterval(() => view.prune(), 60_000);
  pruner.unref();
  logger.info({ topic, decisions: view.size() }, 'decision view ready');
  return {
    async close() {
      clearInterval(pruner);
      await subscription.close();
    },
  };
}
