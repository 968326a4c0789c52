import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { MetricsRegistry, parseConfig, PcxError } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { createConfigDriftScorer, runDetectors, type DetectorRuntime } from '@portcullis/detectors';
import { GatewayClient } from '@portcullis/proto';
import { createGateway, createGatewayClient, type Gateway } from '../src/index.js';
import { eventually, memoryLogger, uniqueName } from './support/harness.js';

/**
 * Config drift end to end on the in-process bus: agents report manifests through gRPC,
 * the gateway publishes them, the detector runtime (config-drift scorer, with
 * portcullis.changes as its side input) alerts and blocks, and the gateway enforces.
 */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const token = () => `pcx_${randomBytes(32).toString('base64url')}`;
const DRIFTER = token();
const CAREFUL = token();
const APPROVER = token();
const T = {
  events: uniqueName('drift.events'),
  alerts: uniqueName('drift.alerts'),
  decisions: uniqueName('drift.decisions'),
  dlq: uniqueName('drift.dlq'),
  changes: uniqueName('drift.changes'),
  state: uniqueName('drift.state'),
};
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-drift-spool-'));
const logs = memoryLogger();
const HOUR = 3_600_000;
const NEW_ENDPOINT = 'https://paste.example.net:443';
const BASE = { agentConfigHash: 'cfg-1', endpoints: ['https://api.internal:443'], env: [{ name: 'DB_PASSWORD', valueSha256: sha('hunter2'), secretBearing: true }] };

let bus: Bus;
let gateway: Gateway;
let detectors: DetectorRuntime;
let grpcClient: InstanceType<typeof GatewayClient>;

interface OcsfAlert {
  class_uid: number;
  severity_id: number;
  finding_info: { uid: string; title: string; analytic: { name: string } };
  evidences?: Array<Record<string, unknown>>;
  unmapped?: Record<string, unknown>;
  [k: string]: unknown;
}

async function alerts(): Promise<OcsfAlert[]> {
  const out: OcsfAlert[] = [];
  await bus.readToEnd(T.alerts, (r) => {
    if (r.value) out.push(JSON.parse(r.value.toString('utf8')) as OcsfAlert);
  });
  return out;
}

function report(tok: string, manifest: typeof BASE): Promise<{ eventId: string; sessionId: string }> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${tok}`);
  return new Promise((resolve, reject) => grpcClient.reportManifest({ ...manifest, reportedAt: Date.now() }, md, {}, (err, res) => (err ? reject(err) : resolve(res as { eventId: string; sessionId: string }))));
}

const mentions = (a: OcsfAlert, eventId: string) => JSON.stringify(a).includes(eventId);

beforeAll(async () => {
  bus = createMemoryBus({ logger: logs.logger });
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      id: 'gw-drift',
      grpc: { port: 0 },
      admin: { port: 0 },
      spool: { dir: spoolDir },
      tokens: [
        { id: 'tok-drifter', subject: 'agent-drifter', kind: 'agent', sha256: sha(DRIFTER) },
        { id: 'tok-careful', subject: 'agent-careful', kind: 'agent', sha256: sha(CAREFUL) },
        { id: 'tok-lead', subject: 'lead@example.com', kind: 'human', groups: ['change-board'], sha256: sha(APPROVER) },
      ],
      connections: [{ name: 'main', kind: 'postgres', url: '${env:PG}', grants: [{ subject: 'agent-drifter', access: 'read' }, { subject: 'agent-careful', access: 'read' }] }],
      changes: { approverGroups: ['change-board'] },
    },
  });
  gateway = createGateway({ config, env: { PG: 'postgres://postgres@127.0.0.1:5432/test' }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: T.events, decisions: T.decisions, changes: T.changes } });
  await gateway.start();
  grpcClient = new GatewayClient(`127.0.0.1:${gateway.grpcPort}`, credentials.createInsecure());
  const drift = parseConfig({}).detectors.configDrift;
  detectors = await runDetectors({
    bus,
    scorers: [createConfigDriftScorer(drift, { changesTopic: T.changes }) as never],
    logger: logs.logger,
    groupId: uniqueName('drift-detectors'),
    topics: { events: T.events, alerts: T.alerts, decisions: T.decisions, dlq: T.dlq, state: (d) => `${T.state}.${d}` },
  });
});

afterAll(async () => {
  grpcClient?.close();
  await detectors?.close();
  await gateway?.close();
  await bus?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('config drift, agent manifests, end to end', () => {
  it('a never-seen endpoint without a change request → critical OCSF alert and block → the next Exec is refused', async () => {
    const agent = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, DRIFTER);
    try {
      await report(DRIFTER, BASE);
      expect((await agent.exec('main', 'SELECT 1 AS ok')).rows).toHaveLength(1);

      const drifted = await report(DRIFTER, { ...BASE, endpoints: [...BASE.endpoints, NEW_ENDPOINT] });
      const alert = await eventually(async () => (await alerts()).find((a) => mentions(a, drifted.eventId)), 'config-drift alert');
      expect(alert.class_uid).toBe(2004);
      expect(alert.finding_info.analytic.name).toBe('config-drift');
      expect(alert.severity_id).toBe(5); // OCSF Critical
      expect(JSON.stringify(alert)).toContain(NEW_ENDPOINT);
      expect(JSON.stringify(alert)).not.toContain(sha('hunter2'));

      await eventually(() => gateway.decisionView.isBlocked(['identity:agent-drifter'], Date.now()), 'block on identity:agent-drifter');
      const refused = await agent.exec('main', 'SELECT 1 AS ok').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PcxError);
      expect((refused as PcxError).code).toBe('PCX_BLOCKED_BY_DECISION');
    } finally {
      agent.close();
    }
  });

  it('the same change filed first as a change request through the admin API is silent', async () => {
    await report(CAREFUL, BASE);
    const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/changes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${APPROVER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'paste endpoint for the careful agent', scope: 'agent-careful', kind: 'AGENT_MANIFEST', expected: { endpoints: [NEW_ENDPOINT] }, windowStart: Date.now() - HOUR, windowEnd: Date.now() + HOUR }),
    });
    expect(res.status).toBe(201);
    const approved = await report(CAREFUL, { ...BASE, endpoints: [...BASE.endpoints, NEW_ENDPOINT] });
    // A later unapproved change on the same agent (same partition, scored in order): once
    // its alert is out, the approved report before it has been scored too.
    const marker = await report(CAREFUL, { ...BASE, endpoints: [...BASE.endpoints, NEW_ENDPOINT], env: [{ name: 'LOG_LEVEL', valueSha256: sha('debug'), secretBearing: false }, ...BASE.env] });
    const markerAlert = await eventually(async () => (await alerts()).find((a) => mentions(a, marker.eventId)), 'marker alert');
    expect(markerAlert.severity_id).toBe(4); // High: an ordinary variable, not critical
    expect((await alerts()).filter((a) => mentions(a, approved.eventId))).toEqual([]);
    expect(gateway.decisionView.isBlocked(['identity:agent-careful'], Date.now())).toBeUndefined();
    const careful = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, CAREFUL);
    try {
      expect((await careful.exec('main', 'SELECT 1 AS ok')).rows).toHaveLength(1);
    } finally {
      careful.close();
    }
  });
});
