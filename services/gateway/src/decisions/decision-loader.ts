import { uuidv7, type Logger, type MetricsRegistry } from '@portcullis/common';
import type { Bus, BusRecord, Subscription } from '@portcullis/bus';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { DecisionSnapshotWriter, readDecisionSnapshot } from './decision-snapshot.js';
import type { ApplyOutcome, DecisionView } from './decision-view.js';

/** Where the view's decisions came from: rebuilt from the topic, the local snapshot, or nothing. */
export type DecisionSource = 'topic' | 'snapshot' | 'empty';

export interface DecisionSyncStatus {
  /** True once the view was rebuilt from the topic and its subscription is running. */
  readonly synced: boolean;
  readonly source: DecisionSource;
  /** When this state began (ms since the epoch). */
  readonly since: number;
}

export interface DecisionFeed {
  status(): DecisionSyncStatus;
  /** Resolves once the view has been rebuilt from the topic (stays pending if closed first). */
  whenSynced(): Promise<void>;
  close(): Promise<void>;
}

export interface DecisionFeedOptions {
  readonly bus: Bus;
  readonly topic: string;
  readonly gatewayId: string;
  readonly environment: string;
  readonly view: DecisionView;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** For the sync gauge and the snapshot write counter. */
  readonly registry?: MetricsRegistry;
  /** Runs before every attempt to read the topic (the gateway creates its topics here). */
  readonly prepare?: () => Promise<void>;
  /** How long start waits for the topic before serving from the snapshot. Default 10 000. */
  readonly startTimeoutMs?: number;
  /** The local snapshot of the view; absent = none (the in-process bus cannot be down). */
  readonly snapshot?: { readonly path: string; readonly maxEntries: number };
  /** Back-off between attempts while the topic cannot be read. Default 500 ms doubling to 5 s. */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  readonly now?: () => number;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
/** close() waits this long for an attempt in flight (kafkajs gives up on a dead broker in seconds). */
const CLOSE_WAIT_MS = 10_000;

/**
 * Fills the view from portcullis.decisions and keeps it current: the whole topic up to
 * its end into a fresh view that then replaces the served one (the topic wins over any
 * snapshot), then a live subscription. The group id is unique per gateway process,
 * because every gateway must see every decision rather than share partitions with its
 * peers. The subscription starts from the beginning so nothing published between the
 * two reads is missed; the view skips offsets it already has.
 *
 * When the topic cannot be read within `startTimeoutMs`, this resolves anyway with the
 * view loaded from the local snapshot (or empty) and `synced: false`, and keeps trying in
 * the background with a back-off; the caller decides what an unsynced view may serve
 * (src/decisions/sync-gate.ts). Once synced, every change rewrites the snapshot.
 */
export async function startDecisionFeed(opts: DecisionFeedOptions): Promise<DecisionFeed> {
  const { bus, topic, view, logger, metrics } = opts;
  const now = opts.now ?? Date.now;
  const retry = opts.retry ?? { initialMs: 500, maxMs: 5_000 };
  let state: DecisionSyncStatus = { synced: false, source: 'empty', since: now() };
  let closed = false;
  let subscription: Subscription | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((r) => (markSynced = r));
  let wake: () => void = () => {};

  const syncedGauge = opts.registry?.gauge('portcullis_gateway_decisions_synced', 'Whether the decision view is rebuilt from portcullis.decisions and tailing it (1) or serving a snapshot or nothing (0).');
  syncedGauge?.onCollect(() => syncedGauge.set(state.synced ? 1 : 0));
  const snapshotWrites = opts.registry?.counter('portcullis_gateway_decision_snapshot_writes_total', 'Decision snapshot writes by outcome (ok, truncated, failed).');
  const writer = opts.snapshot
    ? new DecisionSnapshotWriter({
        path: opts.snapshot.path,
        environment: opts.environment,
        gatewayId: opts.gatewayId,
        maxEntries: opts.snapshot.maxEntries,
        entries: (max) => view.unexpired(now(), max),
        logger,
        onWrite: (outcome) => snapshotWrites?.inc({ outcome }),
        now,
      })
    : undefined;

  const setState = (next: Omit<DecisionSyncStatus, 'since'>): void => {
    state = { ...next, since: now() };
  };

  let undecodableLogged = false;
  const fold = (target: DecisionView, r: BusRecord): ApplyOutcome => {
    const outcome = target.apply(r);
    metrics.decisionRecords.inc({ outcome });
    if (outcome === 'undecodable' && !undecodableLogged) {
      undecodableLogged = true; // once, not per record; the counter has the rest
      logger.warn({ topic, partition: r.partition, offset: r.offset }, 'undecodable decision record skipped');
    }
    return outcome;
  };

  async function attempt(): Promise<void> {
    await opts.prepare?.();
    const rebuilt = view.emptyLike();
    await bus.readToEnd(topic, (r) => void fold(rebuilt, r));
    if (closed) return;
    view.replaceWith(rebuilt);
    setState({ synced: false, source: 'topic' });
    writer?.changed();
    const sub = await bus.subscribe({
      groupId: `portcullis-gateway.${opts.gatewayId}.${uuidv7()}`,
      topics: [topic],
      fromBeginning: true,
      handler: async (batch) => {
        let changed = false;
        for (const r of batch.records) {
          const outcome = fold(view, r);
          if (outcome === 'set' || outcome === 'lifted' || outcome === 'ignored') changed = true;
        }
        if (changed) writer?.changed();
      },
    });
    if (closed) {
      await sub.close();
      return;
    }
    subscription = sub;
    setState({ synced: true, source: 'topic' });
    markSynced();
    logger.info({ topic, decisions: view.size() }, 'decision view synced from the topic');
  }

  async function syncLoop(): Promise<void> {
    let delay = retry.initialMs;
    for (let failures = 1; !closed; failures++) {
      try {
        await attempt();
        return;
      } catch (e) {
        if (closed) return;
        // Once per outage at warn; the status and the gauge say the rest.
        if (failures === 1) logger.warn({ err: e, topic, retryMs: delay }, 'cannot read the decisions topic; retrying in the background');
        else logger.debug({ err: e, topic, failures, retryMs: delay }, 'decisions topic still unreadable');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        delay = Math.min(delay * 2, retry.maxMs);
      }
    }
  }

  const loop = syncLoop();
  const bound = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([synced, new Promise<void>((r) => (timer = setTimeout(r, bound)))]);
  clearTimeout(timer);
  if (state.source !== 'topic') {
    // Same tick as the check: a rebuild that lands later replaces this (the topic wins).
    const snap = opts.snapshot ? readDecisionSnapshot(opts.snapshot.path, opts.environment, logger) : undefined;
    if (snap) view.load(snap.entries);
    setState({ synced: false, source: snap ? 'snapshot' : 'empty' });
    logger.warn(
      { topic, timeoutMs: bound, source: state.source, decisions: view.size(), snapshotWrittenAt: snap?.writtenAt },
      'decisions topic not readable at start; serving the last known decision view until it is',
    );
  }

  // Expired decisions need no record to lapse; pruning only keeps the map small.
  const pruner = setInterval(() => {
    if (view.prune(now()) > 0 && state.source === 'topic') writer?.changed();
  }, 60_000);
  pruner.unref();
  return {
    status: () => state,
    whenSynced: () => synced,
    async close() {
      closed = true;
      clearInterval(pruner);
      wake();
      let waitTimer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise<void>((r) => (waitTimer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(waitTimer);
      await subscription?.close();
      await writer?.idle();
    },
  };
}
