import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '@portcullis/bus';
import type { ChangesConfig, Logger, MetricsRegistry } from '@portcullis/common';
import type { EventPublisher } from '../events/publisher.js';
import type { Authenticator } from '../identity/authenticator.js';
import { changeRoutes } from './admin-routes.js';
import { ChangeBook, startChangeFeed } from './change-book.js';
import { configDigest, type ConfigDigest } from './config-digest.js';
import { configEvent, configEventRecord } from './config-event.js';
import type { GatewayConfig } from '@portcullis/common';
import type { ConnectionFacts } from '../events/event-builder.js';

export interface ConfigChangesRuntime {
  readonly book: ChangeBook;
  readonly routes: (req: IncomingMessage, res: ServerResponse) => void;
  /** The digest last published for this gateway's config. */
  readonly current: ConfigDigest;
  /**
   * Publishes a CONFIG event when `gw` differs from the config last published (a reload),
   * naming the changed sections; returns the new digest, or undefined when nothing changed.
   */
  reportConfig(gw: GatewayConfig, facts: ReadonlyMap<string, Pick<ConnectionFacts, 'targetHost' | 'targetDb'>>): ConfigDigest | undefined;
  close(): Promise<void>;
}

/**
 * Config drift, gateway side: the change-request view and admin API over
 * portcullis.changes, and this gateway's config digest published on portcullis.events
 * (phase CONFIG, key `gateway:<id>`) at start and on every change.
 */
export async function startConfigChanges(opts: {
  gateway: GatewayConfig;
  changes: ChangesConfig;
  facts: ReadonlyMap<string, Pick<ConnectionFacts, 'targetHost' | 'targetDb'>>;
  environment: string;
  bus: Bus;
  changesTopic: string;
  eventsTopic: string;
  publisher: EventPublisher;
  authenticator: Authenticator;
  logger: Logger;
  metrics: MetricsRegistry;
  publishTimeoutMs: number;
  now?: () => number;
}): Promise<ConfigChangesRuntime> {
  const now = opts.now ?? Date.now;
  const logger = opts.logger.child({ component: 'config-changes' });
  const undecodable = opts.metrics.counter('portcullis_gateway_change_records_undecodable_total', 'Change request records skipped as undecodable.');
  const book = new ChangeBook();
  const feed = await startChangeFeed({ bus: opts.bus, topic: opts.changesTopic, gatewayId: opts.gateway.id, book, logger, onUndecodable: () => undecodable.inc() });

  let current = configDigest(opts.gateway, opts.facts);
  const publishConfig = (previous: ConfigDigest | undefined, next: ConfigDigest): void => {
    const e = configEvent({ gatewayId: opts.gateway.id, environment: opts.environment, ...(previous ? { previous } : {}), current: next, now: now() });
    opts.publisher.publish(opts.eventsTopic, configEventRecord(e));
    logger.info({ gateway: opts.gateway.id, digest: next.digest, changed: e.configChange?.changed ?? [] }, 'gateway config published');
  };
  publishConfig(undefined, current);

  return {
    book,
    get current() {
      return current;
    },
    routes: changeRoutes({
      book,
      publisher: opts.publisher,
      topic: opts.changesTopic,
      authenticator: opts.authenticator,
      approverGroups: opts.changes.approverGroups,
      maxWindowMs: opts.changes.maxWindowMs,
      environment: opts.environment,
      publishTimeoutMs: opts.publishTimeoutMs,
      logger,
      now,
    }),
    reportConfig(gw, facts) {
      const next = configDigest(gw, facts);
      if (next.digest === current.digest) return undefined;
      const previous = current;
      current = next;
      publishConfig(previous, next);
      return next;
    },
    close: () => feed.close(),
  };
}
