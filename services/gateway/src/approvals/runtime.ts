import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalsConfig, Logger, MetricsRegistry } from '@portcullis/common';
import type { Bus } from '@portcullis/bus';
import type { IGatewayServer } from '@portcullis/proto';
import type { EventPublisher } from '../events/publisher.js';
import type { Authenticator } from '../identity/authenticator.js';
import { approvalRoutes } from './admin-routes.js';
import { ApprovalBook } from './book.js';
import { startApprovalFeed, type ApprovalFeed } from './feed.js';
import { createApprovalGate, type ApprovalGate } from './gate.js';
import { ApprovalService } from './service.js';
import { waitApprovalHandler } from './wait-handler.js';
import { createWebhookNotifier, silentNotifier, type ApprovalNotifier } from './webhook.js';

export interface ApprovalsRuntime {
  readonly service: ApprovalService;
  readonly book: ApprovalBook;
  readonly gate: ApprovalGate;
  readonly routes: (req: IncomingMessage, res: ServerResponse) => void;
  readonly waitApproval: IGatewayServer['waitApproval'];
  readonly notifier: ApprovalNotifier;
  close(): Promise<void>;
}

/** Decided approvals stay in memory this long (the topic keeps them for audit). */
const RETENTION_MS = 24 * 3_600_000;
const SWEEP_MS = 30_000;

/**
 * The approvals module wired: the book rebuilt from portcullis.approvals before the
 * gateway serves, the service, the pipeline's gate, the admin routes, WaitApproval, the
 * webhook and a sweep that records expiries.
 */
export async function startApprovals(opts: {
  config: ApprovalsConfig;
  bus: Bus;
  topic: string;
  gatewayId: string;
  publisher: EventPublisher;
  authenticator: Authenticator;
  logger: Logger;
  metrics: MetricsRegistry;
  maxEventPayloadBytes: number;
  now?: () => number;
}): Promise<ApprovalsRuntime> {
  const { config, logger } = opts;
  const now = opts.now ?? Date.now;
  const opened = opts.metrics.counter('portcullis_gateway_approvals_opened_total', 'Approval requests opened by this gateway.');
  const pending = opts.metrics.gauge('portcullis_gateway_approvals_pending', 'Approvals pending in the view.');
  const undecodable = opts.metrics.counter('portcullis_gateway_approval_records_undecodable_total', 'Approval records skipped as undecodable.');
  const webhook = opts.metrics.counter('portcullis_gateway_approval_webhook_total', 'Approval webhook deliveries by outcome (ok, failed).');
  const book = new ApprovalBook();
  pending.onCollect(() => pending.set(book.pendingCount(now())));
  const notifier = config.webhookUrl ? createWebhookNotifier({ url: config.webhookUrl, timeoutMs: config.webhookTimeoutMs, logger, counter: webhook }) : silentNotifier;
  const service = new ApprovalService({
    book,
    publisher: opts.publisher,
    topic: opts.topic,
    notifier,
    logger,
    defaultTtlMs: config.defaultTtlMs,
    maxWaitMs: config.maxWaitMs,
    now,
    onOpened: () => opened.inc(),
  });
  const feed: ApprovalFeed = await startApprovalFeed({ bus: opts.bus, topic: opts.topic, gatewayId: opts.gatewayId, book, logger, onUndecodable: () => undecodable.inc() });
  const sweeper = setInterval(() => service.sweep(RETENTION_MS), SWEEP_MS);
  sweeper.unref();
  return {
    service,
    book,
    gate: createApprovalGate(service, opts.maxEventPayloadBytes),
    routes: approvalRoutes(service, opts.authenticator, logger),
    waitApproval: waitApprovalHandler(service, opts.authenticator, logger),
    notifier,
    async close() {
      clearInterval(sweeper);
      await feed.close();
      await notifier.idle();
    },
  };
}
