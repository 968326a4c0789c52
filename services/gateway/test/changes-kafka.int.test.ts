import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { MetricsRegistry, parseConfig } from '@portcullis/common';
import { createKafkaBus, type Bus } from '@portcullis/bus';
import { createConfigDriftScorer, runDetectors, type DetectorRuntime } from '@portcullis/detectors';
import { GatewayClient } from '@portcullis/proto';
import { createGateway, type ChangeRequestView, type Gateway } from '../src/index.js';
import { kafkaBrokers, uniqueTopic } from '../../../test/support/kafka.js';
import { eventually, memoryLogger } from './support/harness.js';

/**
 * portcullis.changes through the real broker: change requests filed on one gateway's
 * admin API reach the config-drift detector's side input (caught up before the manifest
 * that follows is scored) and another gateway's change list after its start.
 */
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const AGENT = `pcx_${randomBytes(32).toString('base64url')}`;
const LEAD = `pcx_${randomBytes(32).toString('base64url')}`;
const T = {
  events: uniqueTopic('it.drift.events'),
  alerts: uniqueTopic('it.drift.alerts'),
  decisions: uniqueTopic('it.drift.decisions'),
  dlq: uniqueTopic('it.drift.dlq'),
  changes: uniqueTopic('it.drift.changes'),
  state: uniqueTopic('it.drift.state'),
};
const logs = memoryLogger();
const HOUR = 3_600_000;
const BASE = { agentConfigHash: 'cfg-1', endpoints: ['https://api.internal:443'], env: [{ name: 'DB_PASSWORD', valueSha256: sha('hunter2'), secretBearing: true }] };
const spoolDirs: string[] = [];
const running: Gateway[] = [];

let bus: Bus;
let detectors: DetectorRuntime;

function gatewayOn(id: string): Gateway {
  const spool = mkdtempSync(join(tmpdir(), 'gw-chg-kafka-'));
  spoolDirs.push(spool);
  const gw = createGateway({
    config: parseConfig({
      environment: 'itest',
      gateway: {
        id,
        grpc: { port: 0 },
        admin: { port: 0 },
        spool: { dir: spool },
        tokens: [
          { id: 'tok-agent', subject: 'agent-k', kind: 'agent', sha256: sha(AGENT) },
          { id: 'tok-lead', subject: 'lead', kind: 'human', groups: ['change-board'], sha256: sha(LEAD) },
        ],
        changes: { approverGroups: ['change-board'] },
      },
    }),
    env: {},
    bus,
    logger: logs.logger,
    metrics: new MetricsRegistry(),
    topics: { events: T.events, decisions: T.decisions, changes: T.changes },
  });
  running.push(gw);
  return gw;
}

async function report(gw: Gateway, manifest: typeof BASE): Promise<string> {
  const client = new GatewayClient(`127.0.0.1:${gw.grpcPort}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${AGENT}`);
  try {
    const out = await new Promise<{ eventId: string }>((resolve, reject) => client.reportManifest(manifest, md, {}, (err, res) => (err ? reject(err) : resolve(res as { eventId: string }))));
    return out.eventId;
  } finally {
    client.close();
  }
}

async function fileChange(gw: Gateway, body: object): Promise<ChangeRequestView> {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/changes`, { method: 'POST', headers: { authorization: `Bearer ${LEAD}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as ChangeRequestView;
}

async function alertsMentioning(eventId: string): Promise<string[]> {
  const out: string[] = [];
  await bus.readToEnd(T.alerts, (r) => {
    const text = r.value?.toString('utf8') ?? '';
    if (text.includes(eventId)) out.push(text);
  });
  return out;
}

beforeAll(async () => {
  bus = createKafkaBus({ brokers: await kafkaBrokers(), clientId: 'gw-changes-it', logger: logs.logger });
});

afterAll(async () => {
  await detectors?.close();
  for (const gw of running) await gw.close();
  await bus?.close();
  for (const d of spoolDirs) rmSync(d, { recursive: true, force: true });
});

describe('change requests on Kafka', () => {
  it('a change request filed just before the change silences it in the detector; an unapproved one alerts', async () => {
    const gw = gatewayOn('gw-chg-k1');
    await gw.start();
    const drift = parseConfig({}).detectors.configDrift;
    detectors = await runDetectors({
      bus,
      scorers: [createConfigDriftScorer(drift, { changesTopic: T.changes }) as never],
      logger: logs.logger,
      groupId: uniqueTopic('it-drift-detectors'),
      topics: { events: T.events, alerts: T.alerts, decisions: T.decisions, dlq: T.dlq, state: (d) => `${T.state}.${d}` },
      partitions: { events: 3, alerts: 1, decisions: 1, dlq: 1, state: 1 },
    });

    await report(gw, BASE);
    const filed = await fileChange(gw, { title: 'second API endpoint', scope: 'agent-k', kind: 'AGENT_MANIFEST', expected: { endpoints: ['https://api2.internal:443'] }, windowStart: Date.now() - HOUR, windowEnd: Date.now() + HOUR });
    const approved = await report(gw, { ...BASE, endpoints: [...BASE.endpoints, 'https://api2.internal:443'] });
    // Same agent, same partition, scored in order: once this alert is out, the one before was scored.
    const unapproved = await report(gw, { ...BASE, endpoints: [...BASE.endpoints, 'https://api2.internal:443', 'https://paste.example.net:443'] });
    const alert = await eventually(async () => (await alertsMentioning(unapproved))[0], 'alert for the unapproved change', 60_000);
    expect(alert).toContain('paste.example.net');
    expect(JSON.parse(alert)).toMatchObject({ class_uid: 2004, severity_id: 5 });
    expect(await alertsMentioning(approved)).toEqual([]);

    // Another gateway starting later lists the request, rebuilt from the compacted topic.
    const other = gatewayOn('gw-chg-k2');
    await other.start();
    const res = await fetch(`http://127.0.0.1:${other.adminPort}/changes`, { headers: { authorization: `Bearer ${LEAD}` } });
    const { changes } = (await res.json()) as { changes: ChangeRequestView[] };
    expect(changes.map((c) => c.changeId)).toEqual([filed.changeId]);
  });
});
