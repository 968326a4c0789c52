import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import { Topics, topicSpecs, type Logger, type MetricsRegistry, type PortcullisConfig } from '@portcullis/common';
import { createSpoolingPublisher, type Bus } from '@portcullis/bus';
import { startAdminServer, stopAdminServer } from './admin/http.js';
import { withApprovalRules } from './approvals/rules.js';
import { startApprovals, type ApprovalsRuntime } from './approvals/runtime.js';
import { startConfigChanges, type ConfigChangesRuntime } from './config-changes/runtime.js';
import { reportManifestHandler } from './manifests/report-manifest.js';
import type { CommandAnalyzer } from './analysis/command-analyzer.js';
import { PolicyAnalyzer } from './analysis/policy-analyzer.js';
import { decisionRoutes } from './decisions/admin-routes.js';
import { startDecisionFeed, type DecisionFeed } from './decisions/decision-loader.js';
import { DecisionView } from './decisions/decision-view.js';
import { outageTolerantBus } from './decisions/outage-tolerant-bus.js';
import { withDecisionSync } from './decisions/sync-gate.js';
import type { EventPublisher } from './events/publisher.js';
import { createExecPipeline, type PipelineConnection } from './exec/pipeline.js';
import { gatewayHandlers, startGrpcServer, stopGrpcServer } from './grpc/server.js';
import type { Authenticator } from './identity/authenticator.js';
import { gatewayMetrics, watchPublisher } from './metrics/gateway-metrics.js';
import type { Policy } from './policy/policy.js';
import { guardrailPolicy } from './policy/guardrail-policy.js';
import { authenticatorFromConfig } from './identity/from-config.js';
import { responseMasking } from './masking/response-masking.js';
import { InFlight } from './exec/in-flight.js';
import { openConnections } from './targets/registry.js';

export interface GatewayOptions {
  readonly config: PortcullisConfig;
  /** Where `${env:…}` references resolve; the process passes process.env, tests their own. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly bus: Bus;
  /** Defaults to a spooling publisher on `bus` (config.gateway.spool); one passed in is the caller's to close. */
  readonly publisher?: EventPublisher;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Topic names, defaulting to Topics; tests use unique ones. */
  readonly topics?: { readonly events?: string; readonly decisions?: string; readonly approvals?: string; readonly changes?: string };
  /** Defaults to gateway.identity (OIDC) and gateway.tokens (service tokens), see src/identity/from-config.ts. */
  readonly authenticator?: Authenticator;
  /** Defaults to the guardrails of each connection (src/policy/guardrail-policy.ts); approval rules wrap it. */
  readonly policy?: Policy;
  /** Defaults to PolicyAnalyzer (packages/policy: libpg-query / node-sql-parser, cached by shape). */
  readonly analyzer?: CommandAnalyzer;
  /** How long a strict-audit connection waits for the REQUEST event's acknowledgement. Default 2000. */
  readonly auditTimeoutMs?: number;
  /** The approvals clock (expiry, vote times); defaults to Date.now. */
  readonly now?: () => number;
}

export interface Gateway {
  /** The bound gRPC port (after start). */
  readonly grpcPort: number;
  /** The bound admin HTTP port (after start). */
  readonly adminPort: number;
  readonly decisionView: DecisionView;
  /** The approvals module (after start). */
  readonly approvals: ApprovalsRuntime | undefined;
  /** Change requests and this gateway's config digest (after start). */
  readonly configChanges: ConfigChangesRuntime | undefined;
  /** Resolves credentials, rebuilds the decision view, then binds gRPC and admin HTTP. */
  start(): Promise<void>;
  /** Stops serving, then closes the decision feed, the publisher it made, and the pools. */
  close(): Promise<void>;
}

const DEFAULT_AUDIT_TIMEOUT_MS = 2_000;

export function createGateway(options: GatewayOptions): Gateway {
  const { config, bus, logger } = options;
  const gw = config.gateway;
  const topics = {
    events: options.topics?.events ?? Topics.events,
    decisions: options.topics?.decisions ?? Topics.decisions,
    approvals: options.topics?.approvals ?? Topics.approvals,
    changes: options.topics?.changes ?? Topics.changes,
  };
  const decisionView = new DecisionView(config.environment);
  const inFlight = new InFlight();
  decisionView.onBlock((subject, d) => {
    const n = inFlight.block(subject, d);
    if (n > 0) logger.info({ subject, decision: d.decisionId, cancelled: n }, 'block decision ends running commands');
  });
  const metrics = gatewayMetrics(options.metrics);
  metrics.decisions.onCollect(() => metrics.decisions.set(decisionView.size()));

  let grpc: { server: GrpcServer; port: number } | undefined;
  let admin: { server: HttpServer; port: number } | undefined;
  let feed: DecisionFeed | undefined;
  let connections: Map<string, PipelineConnection> | undefined;
  let ownPublisher: EventPublisher | undefined;
  let approvals: ApprovalsRuntime | undefined;
  let configChanges: ConfigChangesRuntime | undefined;

  async function ensureTopics(): Promise<void> {
    const specs = topicSpecs(config.bus.partitions);
    const events = specs.find((s) => s.name === Topics.events);
    const decisions = specs.find((s) => s.name === Topics.decisions);
    const wanted = [];
    if (events) wanted.push({ ...events, name: topics.events });
    if (decisions) wanted.push({ ...decisions, name: topics.decisions });
    const approvalSpec = specs.find((s) => s.name === Topics.approvals);
    if (approvalSpec) wanted.push({ ...approvalSpec, name: topics.approvals });
    const changesSpec = specs.find((s) => s.name === Topics.changes);
    if (changesSpec) wanted.push({ ...changesSpec, name: topics.changes });
    await bus.ensureTopics(wanted);
  }

  async function start(): Promise<void> {
    try {
      const authenticator = options.authenticator ?? authenticatorFromConfig(gw, options.env, logger);
      // Validated before anything is bound: a bad rule or masking key fails the start, naming its key.
      const policy = options.policy ?? guardrailPolicy(gw.connections);
      const masking = responseMasking(gw.connections, options.env);
      connections = openConnections(gw.connections, options.env, logger);
      const publisher = options.publisher ?? (ownPublisher = await createSpoolingPublisher(bus, { dir: gw.spool.dir, maxBytes: gw.spool.maxBytes, logger, metrics: options.metrics }));
      watchPublisher(metrics, () => publisher.stats());
      // ── decisions (src/decisions): with Kafka unreachable, serve the snapshot after startTimeoutMs; the feed
      // keeps trying (topics included) and the topic wins once back. The in-process bus is never down: no snapshot.
      const decisionFeed = (feed = await startDecisionFeed({
        bus,
        topic: topics.decisions,
        gatewayId: gw.id,
        environment: config.environment,
        view: decisionView,
        logger,
        metrics,
        registry: options.metrics,
        prepare: ensureTopics,
        startTimeoutMs: gw.decisions.startTimeoutMs,
        ...(bus.kind === 'kafka' ? { snapshot: { path: gw.decisions.snapshotPath ?? join(gw.spool.dir, 'decisions.snapshot.json'), maxEntries: gw.decisions.snapshotMaxEntries } } : {}),
      }));
      const strictConnections = new Set(gw.connections.filter((c) => c.audit === 'strict').map((c) => c.name));
      // ── end decisions
      approvals = await startApprovals({
        config: gw.approvals,
        bus: outageTolerantBus(bus, () => decisionFeed.status().source === 'topic', logger),
        topic: topics.approvals,
        gatewayId: gw.id,
        publisher,
        authenticator,
        logger,
        metrics: options.metrics,
        maxEventPayloadBytes: gw.limits.maxEventPayloadBytes,
        ...(options.now ? { now: options.now } : {}),
      });

      // ── config drift (src/config-changes, src/manifests): change requests, this gateway's config digest
      configChanges = await startConfigChanges({
        gateway: gw,
        changes: gw.changes,
        facts: new Map([...connections].map(([name, c]) => [name, c.target.facts])),
        environment: config.environment,
        bus: outageTolerantBus(bus, () => decisionFeed.status().source === 'topic', logger),
        changesTopic: topics.changes,
        eventsTopic: topics.events,
        publisher,
        authenticator,
        logger,
        metrics: options.metrics,
        publishTimeoutMs: options.auditTimeoutMs ?? DEFAULT_AUDIT_TIMEOUT_MS,
        ...(options.now ? { now: options.now } : {}),
      });
      const reportManifest = reportManifestHandler({ authenticator, publisher, eventsTopic: topics.events, environment: config.environment, gatewayId: gw.id, logger, ...(options.now ? { now: options.now } : {}) });
      // ── end config drift

      const pipeline = createExecPipeline({
        environment: config.environment,
        gatewayId: gw.id,
        limits: gw.limits,
        eventsTopic: topics.events,
        auditTimeoutMs: options.auditTimeoutMs ?? DEFAULT_AUDIT_TIMEOUT_MS,
        authenticator,
        connections,
        decisions: decisionView,
        policy: withDecisionSync(withApprovalRules(policy, gw.approvals, config.environment), { isSynced: () => decisionFeed.status().synced, requireSync: gw.decisions.requireSync, strictConnections }),
        analyzer: options.analyzer ?? new PolicyAnalyzer(),
        masking,
        inFlight,
        publisher,
        logger,
        metrics,
        approvals: approvals.gate,
      });
      grpc = await startGrpcServer(gatewayHandlers(pipeline, logger, approvals.waitApproval, reportManifest), gw.grpc.host, gw.grpc.port, gw.limits.maxCommandBytes);
      admin = await startAdminServer(
        {
          metrics: options.metrics,
          health: () => ({
            ...(decisionFeed.status().synced ? {} : { status: 'degraded' }),
            gateway: gw.id,
            environment: config.environment,
            decisions: decisionView.size(),
            decisionSync: decisionFeed.status(),
            approvals: approvals?.book.size() ?? 0,
            publisher: publisher.stats(),
          }),
          approvals: approvals.routes,
          changes: configChanges.routes,
          decisions: decisionRoutes({ view: decisionView, bus, topic: topics.decisions, authenticator, adminGroups: gw.decisions.adminGroups, logger, ...(options.now ? { now: options.now } : {}) }),
        },
        gw.admin.host,
        gw.admin.port,
      );
      logger.info({ gateway: gw.id, grpc: `${gw.grpc.host}:${grpc.port}`, admin: `${gw.admin.host}:${admin.port}`, connections: [...connections.keys()] }, 'gateway serving');
    } catch (e) {
      await close();
      throw e;
    }
  }

  async function close(): Promise<void> {
    const g = grpc;
    const a = admin;
    grpc = undefined;
    admin = undefined;
    await Promise.all([g ? stopGrpcServer(g.server) : undefined, a ? stopAdminServer(a.server) : undefined]);
    const f = feed;
    feed = undefined;
    await f?.close();
    const ap = approvals;
    approvals = undefined;
    await ap?.close();
    const cc = configChanges;
    configChanges = undefined;
    await cc?.close();
    const p = ownPublisher;
    ownPublisher = undefined;
    await p?.close();
    const c = connections;
    connections = undefined;
    if (c) await Promise.all([...c.values()].map((x) => x.target.close()));
  }

  return {
    get grpcPort() {
      return grpc?.port ?? 0;
    },
    get adminPort() {
      return admin?.port ?? 0;
    },
    decisionView,
    get approvals() {
      return approvals;
    },
    get configChanges() {
      return configChanges;
    },
    start,
    close,
  };
}
