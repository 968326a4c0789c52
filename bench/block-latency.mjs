// Figure: event → block enforced at the gateway, on Kafka (budget p99 ≤ 100 ms).
// The real path: gateway and detectors as separate processes on the broker. Each trial
// takes a credential whose origin baseline has matured, uses it from a new origin (the
// gateway publishes that REQUEST), and then sends commands back to back from the new
// origin until the gateway refuses one with PCX_BLOCKED_BY_DECISION. The figure is the
// time from the triggering Exec to the first refusal.
// Baseline (same run): one produce → consume hop on the same broker (the path has two:
// events → detectors, decisions → gateway).
//   npm run build && node bench/block-latency.mjs [--trials 40]
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createGatewayClient } from '@portcullis/gateway';
import { kafkaHopLatency } from './kafka-baseline.mjs';
import { report, startCli, summarize, tempDir, writeConfig } from './lib.mjs';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '40' } } });
const TRIALS = Number(values.trials);
const MATURITY = 20;
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const run = randomBytes(3).toString('hex');
const dir = tempDir('block');
const creds = Array.from({ length: TRIALS }, (_, i) => {
  const token = `pcx_${randomBytes(32).toString('base64url')}`;
  return { id: `bench-${run}-${i}`, subject: `agent:bench-${run}-${i}`, token, sha256: createHash('sha256').update(token).digest('hex') };
});
const config = writeConfig(
  dir,
  `environment: bench
log: { level: warn }
stateDir: ${dir}
gateway:
  grpc: { port: 0 }
  admin: { port: 0 }
  spool: { dir: ${dir}/spool }
  tokens:
${creds.map((c) => `    - { id: ${c.id}, subject: "${c.subject}", kind: agent, sha256: "${c.sha256}" }`).join('\n')}
  connections:
    - name: bench
      kind: postgres
      url: "\${env:BENCH_PG_URL}"
      grants:
${creds.map((c) => `        - { subject: "${c.subject}", access: read }`).join('\n')}
bus: { kind: kafka, brokers: [${brokers.map((b) => `"${b}"`).join(', ')}] }
detectors:
  groupId: bench-detectors-${run}
  credentialOrigin: { maturityEvents: ${MATURITY}, blockTtlMs: 600000 }
`,
);

const env = { BENCH_PG_URL: pgUrl };
const detectors = await startCli(['detectors', '--config', config], env);
const gateway = await startCli(['gateway', '--config', config], env);
const grpc = /grpc=(\S+)/.exec(gateway.line)[1];
const admin = new Kafka({ clientId: 'bench-admin', brokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();

try {
  const clients = creds.map((c) => ({
    a: createGatewayClient(grpc, c.token, { host: 'runner-a', container: 'ctr-a' }),
    b: createGatewayClient(grpc, c.token, { host: 'new-host-b', container: 'ctr-b' }),
  }));
  for (let i = 0; i < MATURITY + 2; i++) await Promise.all(clients.map((c) => c.a.exec('bench', 'select 1')));
  // Let the detectors' group work through the topic's backlog before timing anything.
  for (;;) {
    const ends = await admin.fetchTopicOffsets('portcullis.events');
    const [done] = await admin.fetchOffsets({ groupId: `bench-detectors-${run}`, topics: ['portcullis.events'] });
    const lag = ends.reduce((s, e) => s + Number(e.high) - Number(done?.partitions.find((p) => p.partition === e.partition)?.offset ?? 0), 0);
    if (lag <= 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const lat = [];
  for (const c of clients) {
    const t0 = process.hrtime.bigint();
    for (;;) {
      try {
        await c.b.exec('bench', 'select 1');
      } catch (e) {
        if (e.code !== 'PCX_BLOCKED_BY_DECISION') throw e;
        lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        break;
      }
      if (Number(process.hrtime.bigint() - t0) / 1e6 > 30_000) throw new Error('no block within 30 s');
    }
  }
  for (const c of clients) (c.a.close(), c.b.close());
  const block = summarize(lat);
  const hop = await kafkaHopLatency(brokers);
  for (const p of ['p50', 'p99']) {
    report({ name: `event → block enforced at the gateway ${p}`, value: block[p], unit: 'ms', baseline: `one Kafka produce→consume hop ${p}`, baselineValue: hop[p], ratio: block[p] / hop[p], trials: TRIALS });
  }
} finally {
  await admin.disconnect();
  await gateway.stop();
  await detectors.stop();
}
