import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureCliBuilt, runCli, spawnCli, type CliServer } from '../../services/cli/test/support/cli-process.js';
import { kafkaBrokers } from '../support/kafka.js';
import { eventually, runInsiderScenario } from './scenario.js';

/**
 * End to end, distributed mode: gateway, detectors and sink as three processes that meet
 * only on a real Kafka broker; a SOC consumer reads the alerts topic; the story is then
 * queried back from ClickHouse (the embedded engine the sink wrote).
 */
const run = randomBytes(4).toString('hex');
const credentialId = `e2e-token-${run}`;
const subject = `agent:e2e-${run}`;
const token = `pcx_${randomBytes(32).toString('base64url')}`;
const USES_FROM_A = 25;

let dir: string;
let config: string;
let brokers: string[];
const procs: CliServer[] = [];
let gatewayAddress: string;
let soc: Consumer;
const alertsSeen: Array<Record<string, unknown>> = [];
const env = cleanEnv({ E2E_PG_URL: 'postgres://postgres@127.0.0.1:5432/test' });

beforeAll(async () => {
  ensureCliBuilt();
  brokers = await kafkaBrokers();
  dir = mkdtempSync(join(tmpdir(), 'pcx-e2e-dist-'));
  config = join(dir, 'portcullis.yaml');
  writeFileSync(
    config,
    `environment: e2e
stateDir: ${dir}/state
log: { level: warn }
gateway:
  id: gw-e2e-${run}
  grpc: { port: 0 }
  admin: { port: 0 }
  spool: { dir: ${dir}/spool }
  tokens:
    - { id: ${credentialId}, subject: "${subject}", kind: agent, sha256: "${createHash('sha256').update(token).digest('hex')}" }
  connections:
    - { name: orders, kind: postgres, url: "\${env:E2E_PG_URL}", grants: [{ subject: "${subject}", access: read }] }
bus:
  kind: kafka
  brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
store:
  path: ${dir}/chdb
detectors:
  groupId: detectors-e2e-${run}
  credentialOrigin: { maturityEvents: 20, blockTtlMs: 600000 }
sink:
  groupId: sink-e2e-${run}
  flushMs: 200
`,
  );

  for (const component of ['sink', 'detectors', 'gateway'] as const) {
    const p = spawnCli([component, '--config', config], env);
    procs.push(p);
    const line = await p.waitForLine(new RegExp(`portcullis ${component} ready`), 120_000);
    if (component === 'gateway') gatewayAddress = /grpc=(\S+)/.exec(line)?.[1] ?? '';
  }

  // The SOC reads the alerts topic (the components created it on start).
  const kafka = new Kafka({ clientId: `soc-${run}`, brokers, logLevel: logLevel.NOTHING });
  soc = kafka.consumer({ groupId: `soc-${run}` });
  await soc.connect();
  await soc.subscribe({ topic: 'portcullis.alerts', fromBeginning: true });
  await soc.run({
    eachMessage: async ({ message }) => {
      const alert = JSON.parse(message.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
      if (JSON.stringify(alert).includes(credentialId)) alertsSeen.push(alert);
    },
  });

});

afterAll(async () => {
  await soc?.disconnect();
  for (const p of procs.reverse()) await p.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('distributed mode on Kafka: a stolen token used from a new origin', () => {
  it('reaches the SOC as an OCSF alert, blocks at the gateway, and lands in ClickHouse', async () => {
    const { denial } = await runInsiderScenario({
      grpc: gatewayAddress,
      token,
      connection: 'orders',
      sql: 'select 1 as one',
      usesFromA: USES_FROM_A,
      blockDeadlineMs: 60_000,
    });
    expect(denial.grpcStatus).toBe('PERMISSION_DENIED');
    expect(denial.message).toContain(`credential:${credentialId}`);

    const alert = await eventually('alert on portcullis.alerts', 30_000, async () => alertsSeen[0]);
    expect(alert.class_uid).toBe(2004);
    expect((alert.finding_info as { uid: string }).uid).toBeTruthy();

    // The sink commits offsets only after ClickHouse took the rows: when its group has no
    // lag, everything is in the store. Then stop it (chdb admits one process per directory).
    const admin = new Kafka({ clientId: `e2e-admin-${run}`, brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await eventually('sink caught up', 60_000, async () => {
        for (const topic of ['portcullis.events', 'portcullis.alerts', 'portcullis.decisions']) {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: `sink-e2e-${run}`, topics: [topic] });
          for (const end of ends) {
            const c = committed?.partitions.find((p) => p.partition === end.partition);
            if (Number(c?.offset ?? -1) < Number(end.high) && Number(end.high) > 0) return undefined;
          }
        }
        return true;
      });
    } finally {
      await admin.disconnect();
    }
    await procs.find((p) => p.child.spawnargs.includes('sink'))?.stop();

    const query = async (sql: string): Promise<Array<Record<string, unknown>>> => {
      const r = await runCli(['query', '--config', config, '--json', sql], env);
      if (r.code !== 0) throw new Error(`query failed (${r.code}): ${r.stderr}`);
      return (JSON.parse(r.stdout) as { rows: Array<Record<string, unknown>> }).rows;
    };
    const events = await query(`select phase, count() as n from portcullis.events final where subject = '${subject}' group by phase order by phase`);
    const byPhase = Object.fromEntries(events.map((r) => [r.phase, Number(r.n)]));
    expect(byPhase.REQUEST).toBeGreaterThanOrEqual(USES_FROM_A + 1);
    expect(byPhase.RESPONSE).toBeGreaterThanOrEqual(USES_FROM_A);
    const alerts = await query(`select alert_id from portcullis.alerts final where credential_id = '${credentialId}'`);
    expect(alerts.map((a) => a.alert_id)).toContain((alert.finding_info as { uid: string }).uid);
    const decisions = await query(`select decision_id from portcullis.decisions final where subject = 'credential:${credentialId}'`);
    expect(decisions.some((d) => denial.message.includes(String(d.decision_id)))).toBe(true);
  });
});
