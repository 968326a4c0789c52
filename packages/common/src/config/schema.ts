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
  })
  .strict();

export const gatewaySchema = z
  .object({
    id: z.string().default('gw-1'),
    grpc: hostPort(7443),
    admin: hostPort(7080),
    tokens: z.array(serviceTokenSchema).default([]),
    connections: z.array(connectionSchema).default([]),
    limits: z
      .object({
        maxCommandBytes: z.number().int().min(1).default(1 << 20),
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

export const detectorsSchema = z
  .object({
    groupId: z.string().default('portcullis-detectors'),
    credentialOrigin: credentialOriginSchema.default({}),
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
  .strict();

export type PortcullisConfig = z.infer<typeof configSchema>;
export type GatewayConfig = PortcullisConfig['gateway'];
export type ConnectionConfig = GatewayConfig['connections'][number];
export type ServiceTokenConfig = GatewayConfig['tokens'][number];
export type GrantConfig = ConnectionConfig['grants'][number];
export type BusConfig = PortcullisConfig['bus'];
export type StoreConfig = PortcullisConfig['store'];
export type DetectorsConfig = PortcullisConfig['detectors'];
export type CredentialOriginConfig = DetectorsConfig['credentialOrigin'];
export type SinkConfig = PortcullisConfig['sink'];
