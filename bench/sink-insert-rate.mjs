// Figure: rows/s of one insertRows() batch of AccessEvent rows into the embedded chdb
// engine — the sink's write path (budget: >= 200k rows/s).
// Baseline (same run): the same rows through @clickhouse/client's plain
// `insert({ format: 'JSONEachRow' })` into an identical table.
//   npm run build && node bench/sink-insert-rate.mjs [rows]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drainPending } from 'chdb';
import { storeSchema, uuidv7 } from '@portcullis/common';
import { createStoreClient, eventToRow, insertRows, migrate, countFinal } from '@portcullis/store';
import { report } from './lib.mjs';

const n = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'pcx-insert-rate-'));
const client = createStoreClient(storeSchema.parse({ path: join(dir, 'chdb') }));
const db = 'bench';
await migrate(client, db);
const t0 = Date.now() - 3_600_000;
const rows = Array.from({ length: n }, (_, i) =>
  eventToRow({
    eventId: uuidv7(t0 + i),
    requestId: `r-${i >> 1}`,
    sessionId: `s-${i % 500}`,
    time: t0 + i,
    phase: 1 + (i & 1),
    environment: 'prod',
    gatewayId: 'gw-1',
    identity: { subject: `agent:${i % 50}`, kind: 1, groups: ['etl'], credentialId: `tok_${i % 50}` },
    origin: { peerIp: '10.0.0.7', peerPort: 50000 + (i % 1000), declaredHost: 'runner-3' },
    connection: { name: 'billing', kind: 1, targetHost: 'db:5432', targetDb: 'billing' },
    command: { text: `SELECT * FROM cards WHERE id = ${i}`, fingerprint: 'SELECT * FROM cards WHERE id = ?', statementType: 'SELECT', tables: ['cards'], hasWhere: true, riskTags: [] },
    response: { rows: i % 100, bytes: (i % 100) * 64, durationMs: 1.5, pii: [{ detector: 'pan', count: i % 3 }] },
    verdict: { action: i % 20 === 0 ? 2 : 1, ruleId: 'r1' },
  }),
);
const started = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
await insertRows(client, db, 'events', rows);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
// chdb runs inside this process, so process CPU covers serialisation and the engine: on a
// shared machine rows per CPU-second is the figure that does not depend on the neighbours.
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const stored = await countFinal(client, db, 'events');
if (stored !== n) throw new Error(`stored ${stored} of ${n} rows`);

await client.command({ query: `CREATE TABLE ${db}.events_plain AS ${db}.events` });
const b0 = process.hrtime.bigint();
await client.insert({ table: `${db}.events_plain`, values: rows, format: 'JSONEachRow' });
const baseSeconds = Number(process.hrtime.bigint() - b0) / 1e9;
report({ name: 'sink insert into chdb', value: n / seconds, unit: 'rows/s', baseline: '@clickhouse/client insert JSONEachRow', baselineValue: n / baseSeconds, ratio: baseSeconds / seconds, rows: n, rowsPerCpuSecond: Math.round(n / cpuSeconds), budget: '>= 200k rows/s' });
await client.close();
await drainPending();
rmSync(dir, { recursive: true, force: true });
