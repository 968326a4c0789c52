// Figure: latency the gateway adds to a Postgres query.
// Baseline (same run): the same parameterised query on a direct pooled `pg` connection.
// The gateway runs as its own process (`portcullis gateway`), as in production; the
// client is the gRPC client the CLI uses. Usage:
//   npm run build && node bench/exec-latency.mjs [--n 5000] [--bus memory|kafka]
// Env: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test), KAFKA_BROKERS (for --bus kafka).
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createGatewayClient } from '@portcullis/gateway';
import { fileURLToPath } from 'node:url';
import { measure, newToken, report, startCli, summarize, tempDir, writeConfig } from './lib.mjs';

const { values } = parseArgs({ options: { n: { type: 'string', default: '5000' }, bus: { type: 'string', default: 'memory' } } });
const N = Number(values.n);
const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

const direct = new pg.Pool({ connectionString: pgUrl, max: 32 });
await direct.query('create table if not exists bench_exec (id int primary key, name text not null)');
await direct.query("insert into bench_exec select g, 'name-' || g from generate_series(1, 100) g on conflict do nothing");

const dir = tempDir('exec');
const { token, sha256 } = newToken();
const config = writeConfig(
  dir,
  `environment: bench
log: { level: warn }
stateDir: ${dir}
gateway:
  grpc: { port: 0 }
  admin: { port: 0 }
  spool: { dir: ${dir}/spool }
  tokens: [{ id: bench-token, subject: "agent:bench", kind: agent, sha256: "${sha256}" }]
  connections:
    - { name: bench, kind: postgres, url: "\${env:BENCH_PG_URL}", pool: { max: 32 }, grants: [{ subject: "agent:bench", access: read }] }
bus:
  kind: ${values.bus}
  brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
`,
);
const gw = await startCli(['gateway', '--config', config], { BENCH_PG_URL: pgUrl });
const echo = await startCli([], {}, /echo ready/, fileURLToPath(new URL('./grpc-echo-server.mjs', import.meta.url)));
const echoClient = createGatewayClient(`127.0.0.1:${/port=(\d+)/.exec(echo.line)?.[1]}`, token);
const grpc = /grpc=([^\s]+)/.exec(gw.line)?.[1];
const client = createGatewayClient(grpc, token, { host: 'bench-host' });
const sql = 'select id, name from bench_exec where id = $1';

try {
  for (const concurrency of [1, 32]) {
    const warm = Math.min(1000, N);
    await measure(warm, concurrency, (i) => direct.query(sql, [(i % 100) + 1]));
    await measure(warm, concurrency, (i) => client.exec('bench', sql, { params: [(i % 100) + 1] }));
    // Alternate the two in halves so drift on a shared machine hits both alike.
    const half = Math.floor(N / 2);
    const d1 = await measure(half, concurrency, (i) => direct.query(sql, [(i % 100) + 1]));
    const g1 = await measure(half, concurrency, (i) => client.exec('bench', sql, { params: [(i % 100) + 1] }));
    const d2 = await measure(N - half, concurrency, (i) => direct.query(sql, [(i % 100) + 1]));
    const g2 = await measure(N - half, concurrency, (i) => client.exec('bench', sql, { params: [(i % 100) + 1] }));
    const e = summarize(await measure(N, concurrency, (i) => echoClient.exec('bench', sql, { params: [(i % 100) + 1] })));
    const d = summarize([...d1, ...d2]);
    const g = summarize([...g1, ...g2]);
    for (const p of ['p50', 'p99']) {
      report({
        name: `exec added latency ${p}, concurrency ${concurrency}`,
        value: (g[p] - d[p]) * 1000,
        unit: 'µs',
        baseline: `direct pooled pg ${p}`,
        baselineValue: d[p] * 1000,
        ratio: g[p] / d[p],
        gateway: g[p] * 1000,
        // The transport floor: a gRPC server (own process) that answers Exec at once.
        grpcEchoFloor: e[p] * 1000,
        n: N,
        bus: values.bus,
      });
    }
  }
} finally {
  client.close();
  echoClient.close();
  await echo.stop();
  await gw.stop();
  await direct.end();
}
