import { z } from 'zod';

/**
 * The whole Portcullis config file, one schema for every component (each process reads
 * the sections it needs). Every key has a default so that an empty file is a valid
 * embedded setup; `.strict()` everywhere so that a misspelt key is an error that names
 * it rather than a silently ignored setting.
 */
const hostPort = (port: number) => z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(port) }).strict().default({});

/** A credential reference: `${env:NAME}` or `${file:/path}`. Resolved at start into a Secret. */
const secretRef = z.string().regex(/^\$\{(env|file):[^}]+\}$/, 'must be a reference: ${env:NAME} or ${file:/path}, never an inline credential');

export const serviceTokenSchema = z
  .object({
    /** Stable credential id; what events and decisions name (`credential:<id>`). */
    id: z.string().min(1),
    subject: z.string().min(1),
    kind: z.enum(['agent', 'human', 'service']).default('agent'),
    groups: z.array(z.string()).default([]),
    /** Either the hex SHA-256 of the token, or a reference to the token itself. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    token: secretRef.optional(),
  })
  .strict()
  .refine((t) => (t.sha256 ? 1 : 0) + (t.token ? 1 : 0) === 1, { message: 'give exactly one of sha256 or token' });

export const grantSchema = z
  .object({
    subject: z.string().optional(),
    group: z.string().optional(),
    access: z.enum(['read', 'write', 'admin']),
  })
  .strict()
  .refine((g) => !!g.subject !== !!g.group, { message: 'give exactly one of subject or group' });

export const connectionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _'),
    kind: z.enum(['postgres', 'mysql', 'http', 'ssh']),
    /** The target's URL, by reference (it carries the credential). */
    url: secretRef,
    /** Shown in events instead of the URL. Defaults to the URL's host:port. */
    display: z.string().optional(),
    /** strict: a command runs only once its REQUEST event is acknowledged by the broker. */
    audit: z.enum(['normal', 'strict']).default('normal'),
    pool: z.object({ max: z.number().int().min(1).default(10), idleMs: z.number().int().min(0).default(30_000), connectTimeoutMs: z.number().int().min(1).default(5_000) }).strict().default({}),
    statementTimeoutMs: z.number().int().min(1).default(30_000),
    grants: z.array(grantSchema).default([]),
    /** Guardrails (packages/policy): the default pack plus these rules; `rules` are validated by the gateway at start. */
    guardrails: z
      .object({
        rules: z.array(z.unknown()).default([]),
        /** Globs on objects no DDL may touch here (`users`, `billing.*`). */
        protectedObjects: z.array(z.string().min(1)).default([]),
        onUnparseable: z.enum(['deny', 'allow']).default('deny'),
        /** Ids of default-pack rules switched off on this connection. */
        disableDefaults: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({}),
    /**
     * Response masking (packages/masking rules: columns, detectors, defaultAction, lineage,
     * validated by the gateway at start); `key` is the HMAC key of token actions, by
     * reference; members of `unmaskGroups` see raw values (break glass, recorded).
     */
    masking: z
      .object({
        key: secretRef.optional(),
        unmaskGroups: z.array(z.string().min(1)).default([]),
        columns: z.array(z.unknown()).optional(),
        detectors: z.record(z.string(), z.unknown()).optional(),
        defaultAction: z.unknown().optional(),
        lineage: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A just-in-time approval rule: every condition given must hold for the command to be held. */
export const approvalRuleSchema = z
  .object({
    id: z.string().min(1),
    when: z
      .object({
        environment: z.array(z.string()).optional(),
        connections: z.array(z.string()).optional(),
        isWrite: z.boolean().optional(),
        /** Globs on table names (`*` any run of characters, case-insensitive); any table matching holds. */
        tables: z.array(z.string().min(1)).optional(),
        /** true: the command has no LIMIT (a read of everything). */
        missingLimit: z.boolean().optional(),
        /** Any of these analyzer risk tags. */
        riskTags: z.array(z.string()).optional(),
      })
      .strict()
      .default({}),
    /** N: distinct approvers needed. */
    approvals: z.number().int().min(1).max(16).default(1),
    /** Groups whose members may approve; empty = gateway.approvals.approvers. */
    approverGroups: z.array(z.string().min(1)).default([]),
    ttlMs: z.number().int().min(1).optional(),
    reason: z.string().optional(),
  })
  .strict();

export const approvalsSchema = z
  .object({
    rules: z.array(approvalRuleSchema).default([]),
    /** Default approver groups, for rules that name none. */
    approvers: z.array(z.string().min(1)).default([]),
    /** How long an approval (pending or approved, not yet used) lives, unless its rule says. */
    defaultTtlMs: z.number().int().min(1).default(15 * 60_000),
    /** Slack-compatible webhook (POST {text, blocks}) fired when an approval opens. */
    webhookUrl: z.string().url().optional(),
    webhookTimeoutMs: z.number().int().min(1).default(5_000),
    /** Longest an Exec may hold (hold_ms) or a WaitApproval may follow. */
    maxWaitMs: z.number().int().min(1).default(15 * 60_000),
  })
  .strict();

export const gatewaySchema = z
  .object({
    id: z.string().default('gw-1'),
    grpc: hostPort(7443),
    admin: hostPort(7080),
    tokens: z.array(serviceTokenSchema).default([]),
    /**
     * OIDC issuers (each entry: @portcullis/identity's oidcProviderSchema, validated by the
     * gateway at start, since common cannot import identity); service tokens stay in `tokens`.
     */
    identity: z
      .object({
        oidc: z.array(z.record(z.string(), z.unknown())).default([]),
        /** Accept service tokens without the `pcx_` prefix (minted before it existed). */
        acceptUnprefixedServiceTokens: z.boolean().default(false),
      })
      .strict()
      .default({}),
    connections: z.array(connectionSchema).default([]),
    limits: z
      .object({
        maxCommandBytes: z.number().int().min(1).default(1 << 20),
        /** Cap on the (PII-redacted) command text an event carries; the command itself may be up to maxCommandBytes. */
        maxEventCommandBytes: z.number().int().min(64).default(16 << 10),
        /** Cap on the masked payload copied into a RESPONSE event for replay. */
        maxEventPayloadBytes: z.number().int().min(0).default(64 << 10),
        maxResultRows: z.number().int().min(1).default(100_000),
      })
      .strict()
      .default({}),
    spool: z
      .object({
        dir: z.string().default('./.portcullis/spool'),
        maxBytes: z.number().int().min(1).default(256 << 20),
      })
      .strict()
      .default({}),
    /** The decision view when portcullis.decisions cannot be read (services/gateway/src/decisions). */
    decisions: z
      .object({
        /** The last known view, rewritten atomically on every change; default `decisions.snapshot.json` in `spool.dir`. */
        snapshotPath: z.string().min(1).optional(),
        /** How long start waits to read the topic before serving from the snapshot (the feed keeps retrying). */
        startTimeoutMs: z.number().int().min(0).default(10_000),
        /** true: every Exec is refused (PCX_AUDIT_UNAVAILABLE) until the view is rebuilt from the topic. */
        requireSync: z.boolean().default(false),
        /** Bound on decisions written to the snapshot. */
        snapshotMaxEntries: z.number().int().min(1).default(100_000),
        /** Groups whose members may list and lift decisions on the admin API (GET /decisions, DELETE /decisions/:subject). */
        adminGroups: z.array(z.string().min(1)).default(['soc']),
      })
      .strict()
      .default({}),
    approvals: approvalsSchema.default({}),
    // ── config drift (services/gateway/src/config-changes): who may file change requests on portcullis.changes
    changes: z
      .object({
        /** Groups whose members may file and withdraw change requests (POST/DELETE /changes); empty = nobody. */
        approverGroups: z.array(z.string().min(1)).default([]),
        /** Longest window a change request may span. */
        maxWindowMs: z.number().int().min(1).default(30 * 86_400_000),
      })
      .strict()
      .default({}),
    // ── end config drift
  })
  .strict()
  .superRefine((g, ctx) => {
    const seen = new Set<string>();
    g.connections.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['connections', i, 'name'], message: `duplicate connection ${c.name}` });
      seen.add(c.name);
    });
  });

export const busSchema = z
  .object({
    kind: z.enum(['memory', 'kafka']).default('memory'),
    brokers: z.array(z.string()).default(['127.0.0.1:9092']),
    clientId: z.string().default('portcullis'),
    partitions: z
      .object({
        events: z.number().int().min(1).default(6),
        alerts: z.number().int().min(1).default(3),
        decisions: z.number().int().min(1).default(3),
        approvals: z.number().int().min(1).default(3),
        changes: z.number().int().min(1).default(1),
        dlq: z.number().int().min(1).default(1),
      })
      .strict()
      .default({}),
    producer: z
      .object({
        lingerMs: z.number().int().min(0).default(5),
        maxBatch: z.number().int().min(1).default(1000),
        /** Bound on records waiting to be sent; beyond it the producer spools (or refuses in strict audit). */
        maxBuffered: z.number().int().min(1).default(100_000),
      })
      .strict()
      .default({}),
  })
  .strict();

export const storeSchema = z
  .object({
    /** A ClickHouse server URL (http://host:8123). When absent, the embedded chdb engine at `path`. */
    url: z.string().url().optional(),
    username: z.string().optional(),
    password: secretRef.optional(),
    path: z.string().default('./.portcullis/chdb'),
    database: z.string().regex(/^[a-z_][a-z0-9_]*$/i).default('portcullis'),
  })
  .strict();

export const credentialOriginSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Uses of a credential before its origin set counts as a baseline. */
    maturityEvents: z.number().int().min(1).default(50),
    /** Time since first use before the baseline counts as mature. */
    maturityMs: z.number().int().min(0).default(0),
    /** Origins not seen for this long are forgotten. */
    originTtlMs: z.number().int().min(1).default(30 * 86_400_000),
    /** Bound on origins remembered per credential (least recently seen are evicted). */
    maxOriginsPerCredential: z.number().int().min(1).default(256),
    /** Novelty score at or above which an alert is raised (0..1). */
    alertScore: z.number().min(0).max(1).default(0.5),
    block: z.boolean().default(true),
    blockTtlMs: z.number().int().min(0).default(3_600_000),
  })
  .strict();

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const severityName = z.enum(['info', 'low', 'medium', 'high', 'critical', 'fatal']);

export const commandAnomalySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Half-life of the per-agent decayed table access counts. */
    tableHalfLifeMs: z.number().int().min(1).default(7 * DAY_MS),
    /** A table whose decayed access count is below this counts as rarely touched. */
    rareTableCount: z.number().positive().default(3),
    /** Reads (RESPONSE rows) before the log-rows baseline and first-seen tables count. */
    maturityReads: z.number().int().min(1).default(50),
    /** Time since the agent's first read before the baseline counts as mature. */
    maturityMs: z.number().int().min(0).default(0),
    /** Recent reads kept for the median/MAD of log rows (a sliding window). */
    reservoirSize: z.number().int().min(8).max(1024).default(64),
    /** Robust z of log rows at or above which a read of a rare table is bulk. */
    zThreshold: z.number().positive().default(3.5),
    /** Floor on the MAD of log rows, so an agent that always reads the same count is not infinitely sensitive. */
    minMad: z.number().positive().default(0.25),
    /** Absolute rule: a read of at least this many rows without WHERE and LIMIT. */
    absoluteRows: z.number().int().min(1).default(100_000),
    alertScore: z.number().min(0).max(1).default(0.5),
    /** Raise a low-severity finding for a table the agent never touched, once mature. */
    alertFirstSeen: z.boolean().default(true),
    maxTablesPerAgent: z.number().int().min(1).default(256),
    /** Requests awaiting their RESPONSE, per agent, and how long they wait (event time). */
    maxPending: z.number().int().min(1).default(64),
    pendingTtlMs: z.number().int().min(1).default(5 * 60_000),
    /** Events older than the agent's newest by more than this are ignored as too late. */
    maxLatenessMs: z.number().int().min(0).default(5 * 60_000),
    /** Recent event ids remembered per agent so a redelivered event is not counted twice. */
    dedupeWindow: z.number().int().min(0).max(1024).default(32),
    /** An agent silent this long is forgotten. */
    idleTtlMs: z.number().int().min(1).default(30 * DAY_MS),
    block: z.boolean().default(false),
    /** Findings at or above this severity ask for a block (when block is on). */
    blockSeverity: severityName.default('high'),
    blockTtlMs: z.number().int().min(0).default(HOUR_MS),
  })
  .strict();

export const timingAgentSchema = z
  .object({
    /** IANA time zone the agent's schedule and hours are read in. */
    timeZone: z.string().min(1).default('UTC'),
    /** Declared schedule: 5-field cron expressions (local to timeZone); empty = learn the hours. */
    cron: z.array(z.string().min(1)).default([]),
    /** How far from a cron minute a run may start and still be on schedule. */
    toleranceMinutes: z.number().int().min(0).max(720).default(15),
  })
  .strict();

export const timingSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Per agent identity subject: time zone and declared schedule. */
    agents: z.record(z.string(), timingAgentSchema).default({}),
    /** Time zone of agents not listed in `agents`. */
    defaultTimeZone: z.string().min(1).default('UTC'),
    /** A REQUEST after this much silence (or the first of a new session) starts a run. */
    idleGapMs: z.number().int().min(1).default(30 * 60_000),
    /** Half-life of the learned hour-of-week histogram of runs. */
    histogramHalfLifeMs: z.number().int().min(1).default(28 * DAY_MS),
    /** Maturity gate of the learned histogram and the rate test: runs and weeks. */
    maturityRuns: z.number().int().min(1).default(30),
    maturityWeeks: z.number().min(0).default(2),
    /** Pseudo-count per hour-of-week bin (smoothing). */
    histogramPrior: z.number().min(0).default(0.1),
    /** A run in an hour-of-week bin below this probability is at an odd hour. */
    oddHourProbability: z.number().min(0).max(1).default(0.001),
    /** Poisson tail probability below which a burst or a silence is flagged. */
    poissonAlpha: z.number().min(0).max(1).default(1e-4),
    /** Fewest runs in one hour that can be a burst. */
    burstMinRuns: z.number().int().min(2).default(3),
    maxRecentSessions: z.number().int().min(1).max(256).default(16),
    maxLatenessMs: z.number().int().min(0).default(5 * 60_000),
    dedupeWindow: z.number().int().min(0).max(1024).default(32),
    idleTtlMs: z.number().int().min(1).default(90 * DAY_MS),
    block: z.boolean().default(false),
    blockSeverity: severityName.default('high'),
    blockTtlMs: z.number().int().min(0).default(HOUR_MS),
  })
  .strict();

export const dataLeakageSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Half-life of the per (agent, destination) baseline of bytes and PII counts. */
    halfLifeMs: z.number().int().min(1).default(14 * DAY_MS),
    /** Responses to a destination before its byte and PII baselines are trusted. */
    maturityResponses: z.number().int().min(1).default(30),
    /** A destination is new to an agent until it has seen this many responses … */
    newDestinationResponses: z.number().int().min(1).default(20),
    /** … and this much time since the first. */
    newDestinationMs: z.number().int().min(0).default(DAY_MS),
    /** PII detectors whose records are financial or identity data. */
    sensitivePii: z.array(z.string().min(1)).default(['card', 'iban', 'ssn']),
    /** Destinations any agent may send sensitive records to; when this and the agent's list are empty, only new destinations are critical. */
    allowedDestinations: z.array(z.string()).default([]),
    allowedDestinationsByAgent: z.record(z.string(), z.array(z.string())).default({}),
    /** z of log bytes / log PII count (against the pair's decayed mean and variance) that is high. */
    bytesZThreshold: z.number().positive().default(4),
    piiZThreshold: z.number().positive().default(4),
    /** Floor on the standard deviation of the log baselines. */
    minStd: z.number().positive().default(0.25),
    /** Quiet period per (agent, destination) after a finding, so one exfiltration is one finding. */
    cooldownMs: z.number().int().min(0).default(10 * 60_000),
    maxLatenessMs: z.number().int().min(0).default(5 * 60_000),
    dedupeWindow: z.number().int().min(0).max(1024).default(32),
    idleTtlMs: z.number().int().min(1).default(30 * DAY_MS),
    block: z.boolean().default(true),
    blockTtlMs: z.number().int().min(0).default(HOUR_MS),
  })
  .strict();

export const riskAggregationSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Half-life of an entity's accumulated risk. */
    halfLifeMs: z.number().int().min(1).default(6 * HOUR_MS),
    /** Weight per detector name (default 1). */
    weights: z.record(z.string(), z.number().min(0)).default({}),
    /** Risk points a finding of each severity adds (times weight and score). */
    severityPoints: z
      .object({
        info: z.number().min(0).default(0),
        low: z.number().min(0).default(5),
        medium: z.number().min(0).default(15),
        high: z.number().min(0).default(40),
        critical: z.number().min(0).default(100),
        fatal: z.number().min(0).default(100),
      })
      .strict()
      .default({}),
    /** Risk at which an episode (one alert) opens, the entity is blocked, and the episode closes. */
    alertThreshold: z.number().positive().default(30),
    blockThreshold: z.number().positive().default(80),
    closeThreshold: z.number().positive().default(10),
    /** Relative risk growth since the last update that is worth another update of the alert. */
    updateStep: z.number().min(0).default(0.25),
    /** Event ids kept as evidence per episode. */
    maxEvidence: z.number().int().min(1).default(20),
    block: z.boolean().default(true),
    blockTtlMs: z.number().int().min(0).default(HOUR_MS),
  })
  .strict();

// ── config drift (detectors/src/scorers/config-drift.ts)
export const configDriftSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Ask the gateways to block the agent (identity:<subject>) on a critical finding. */
    block: z.boolean().default(true),
    blockTtlMs: z.number().int().min(0).default(3_600_000),
    /** A change request counts for events up to this long before its created_at (clock skew between gateways). */
    clockSkewMs: z.number().int().min(0).default(60_000),
    /** Endpoints remembered per agent as seen (least recently seen are evicted). */
    maxKnownEndpoints: z.number().int().min(1).default(256),
    /** An agent or gateway not heard from for this long is forgotten (its next report is a new baseline). */
    baselineTtlMs: z.number().int().min(1).default(90 * 86_400_000),
    /** Variable names treated as secret-bearing even when the agent does not flag them (case-insensitive regex). */
    secretNamePattern: z.string().default('(SECRET|TOKEN|PASSW(OR)?D|PWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH|DSN|CONN(ECTION)?_?STR)'),
  })
  .strict();
// ── end config drift

export const detectorsSchema = z
  .object({
    // Part of the state changelog topic names (topics.ts stateTopic): topic-safe characters only.
    groupId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be 1–200 letters, digits, ".", "_" or "-" (it names the state changelog topics)')
      .default('portcullis-detectors'),
    /** Bounds of the detector runtime (detectors/src/runtime); per-detector settings are below. */
    runtime: z
      .object({
        /** Entities per detector per partition; the least recently updated are evicted. */
        maxKeysPerPartition: z.number().int().min(1).default(1_000_000),
        /** Output records awaiting broker acks above which consumption pauses (resumes at half). */
        maxPendingRecords: z.number().int().min(1).default(50_000),
        /** Event time between decay sweeps over dormant entities. */
        evictIntervalMs: z.number().int().min(1).default(60_000),
        /** Alert ids remembered per detector per partition to drop repeats. */
        recentAlertIds: z.number().int().min(1).default(1024),
        maxBatch: z.number().int().min(1).default(500),
        /**
         * Wall-clock time between state flushes of a partition: the changelog gets each
         * entity changed since the last flush once, then the offsets are committed (0 =
         * after every batch). Alerts and decisions are published per batch regardless; a
         * crash replays at most this much (same alert ids). Kafka Streams' at-least-once
         * default is 30 s; 5 s keeps the replay short while a busy entity is still written
         * once per interval rather than once per batch.
         */
        commitIntervalMs: z.number().int().min(0).default(5_000),
        /** A partition flushes sooner once it has scored this many records since its last flush (bounds the replay and the rollback copies held). */
        commitMaxRecords: z.number().int().min(1).default(100_000),
        /**
         * Worker threads of `portcullis detectors`, each one member of the consumer group
         * with its own partitions, state and Kafka connections (Kafka Streams'
         * num.stream.threads). Up to one per core; Kafka bus only (the in-process bus
         * lives in one thread).
         */
        threads: z.number().int().min(1).max(64).default(1),
      })
      .strict()
      .default({}),
    credentialOrigin: credentialOriginSchema.default({}),
    commandAnomaly: commandAnomalySchema.default({}),
    timing: timingSchema.default({}),
    dataLeakage: dataLeakageSchema.default({}),
    riskAggregation: riskAggregationSchema.default({}),
    configDrift: configDriftSchema.default({}),
  })
  .strict();

export const sinkSchema = z
  .object({
    groupId: z.string().default('portcullis-sink'),
    batchRows: z.number().int().min(1).default(10_000),
    flushMs: z.number().int().min(1).default(500),
    retry: z.object({ initialMs: z.number().int().min(1).default(200), maxMs: z.number().int().min(1).default(10_000) }).strict().default({}),
  })
  .strict();

export const configSchema = z
  .object({
    environment: z.string().regex(/^[a-z0-9_-]+$/i).default('dev'),
    log: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().default({}),
    stateDir: z.string().default('./.portcullis'),
    gateway: gatewaySchema.default({}),
    bus: busSchema.default({}),
    store: storeSchema.default({}),
    detectors: detectorsSchema.default({}),
    sink: sinkSchema.default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.detectors.runtime.threads > 1 && c.bus.kind !== 'kafka') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['detectors', 'runtime', 'threads'], message: 'more than one detector thread needs bus.kind: kafka (the in-process bus lives in one thread)' });
    }
  });

export type PortcullisConfig = z.infer<typeof configSchema>;
export type GatewayConfig = PortcullisConfig['gateway'];
export type ConnectionConfig = GatewayConfig['connections'][number];
export type ServiceTokenConfig = GatewayConfig['tokens'][number];
export type GrantConfig = ConnectionConfig['grants'][number];
export type ApprovalsConfig = GatewayConfig['approvals'];
export type ApprovalRuleConfig = ApprovalsConfig['rules'][number];
export type BusConfig = PortcullisConfig['bus'];
export type StoreConfig = PortcullisConfig['store'];
export type DetectorsConfig = PortcullisConfig['detectors'];
export type CredentialOriginConfig = DetectorsConfig['credentialOrigin'];
export type CommandAnomalyConfig = DetectorsConfig['commandAnomaly'];
export type TimingConfig = DetectorsConfig['timing'];
export type TimingAgentConfig = TimingConfig['agents'][string];
export type DataLeakageConfig = DetectorsConfig['dataLeakage'];
export type RiskAggregationConfig = DetectorsConfig['riskAggregation'];
export type ConfigDriftConfig = DetectorsConfig['configDrift'];
export type ChangesConfig = GatewayConfig['changes'];
export type SinkConfig = PortcullisConfig['sink'];
