// Throughput of the detector runtime core (decode → scorers → per-partition state →
// alert/decision/changelog records), without a broker, on synthetic events; and the
// state held per credential. Run after a build:
//   npx tsc -p detectors/tsconfig.build.json && node --expose-gc detectors/bench/core-throughput.mjs [events] [credentials]
// Prints one JSON line.
import { encodeEvent, Phase, IdentityKind, ConnectionKind } from '@portcullis/proto';
import { createCredentialOriginScorer, DetectorCore } from '../dist/index.js';

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const CREDENTIALS = Number(process.argv[3] ?? 10_000);
const PARTITIONS = 6;
const BATCH = 500;
const T0 = Date.UTC(2025, 0, 6);

const settings = { maturityEvents: 50, maturityMs: 0, originTtlMs: 30 * 86_400_000, maxOriginsPerCredential: 256, alertScore: 0.5, block: true, blockTtlMs: 3_600_000 };

// Deterministic PRNG so runs compare.
let seed = 42;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

/** Most credentials live on 1–3 origins; one in 20 roams; one in 1000 events is a foreign origin. */
function originOf(c, i) {
  if (rand() < 0.001) return { peerIp: `198.51.100.${i % 250}`, declaredHost: 'unknown', containerId: '' };
  const roams = c % 20 === 0;
  const k = roams ? Math.floor(rand() * 40) : Math.floor(rand() * (1 + (c % 3)));
  return { peerIp: `10.${(c >> 8) & 255}.${c & 255}.${k}`, declaredHost: `worker-${c}-${k}`, containerId: `ctr-${c}-${k}`, peerPort: 30000 + (i % 30000) };
}

function event(i) {
  const c = Math.floor(rand() * CREDENTIALS);
  return {
    c,
    bytes: encodeEvent({
      eventId: `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
      requestId: `r${i}`,
      sessionId: `s${c}`,
      time: T0 + i * 10, // 100 events per second of event time
      phase: i % 2 === 0 ? Phase.REQUEST : Phase.RESPONSE,
      environment: 'prod',
      gatewayId: 'gw-1',
      identity: { subject: `agent:${c}`, kind: IdentityKind.AGENT, credentialId: `tok_${c}`, groups: ['agents'] },
      origin: originOf(c, i),
      connection: { name: 'orders', kind: ConnectionKind.POSTGRES, targetHost: 'db:5432', targetDb: 'orders' },
      command: { text: 'SELECT id, total FROM orders WHERE customer_id = 42 LIMIT 10', fingerprint: 'SELECT id, total FROM orders WHERE customer_id = ? LIMIT ?', statementType: 'SELECT', tables: ['orders'], hasWhere: true, hasLimit: true },
    }),
  };
}

const core = new DetectorCore([createCredentialOriginScorer(settings)], { productVersion: 'bench' });
for (let p = 0; p < PARTITIONS; p++) core.assign(p);

const pending = Array.from({ length: PARTITIONS }, () => []);
let offset = 0;
let busyMs = 0;
let busyCpuUs = 0;
let alerts = 0;
let changelog = 0;
let processed = 0;

function flush(p) {
  const records = pending[p];
  if (records.length === 0) return;
  const t = performance.now();
  const cpu = process.cpuUsage();
  const out = core.process(p, records);
  const used = process.cpuUsage(cpu);
  busyCpuUs += used.user + used.system;
  busyMs += performance.now() - t;
  processed += out.events;
  alerts += out.alerts.length;
  for (const c of out.changelog.values()) changelog += c.length;
  pending[p] = [];
}

if (global.gc) global.gc();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < EVENTS; i++) {
  const { c, bytes } = event(i);
  const p = c % PARTITIONS;
  pending[p].push({ topic: 'portcullis.events', partition: p, offset: String(offset++), key: null, value: bytes, timestamp: T0 });
  if (pending[p].length >= BATCH) flush(p);
}
for (let p = 0; p < PARTITIONS; p++) flush(p);

if (global.gc) global.gc();
const heapAfter = process.memoryUsage().heapUsed;
const [size] = core.stateSize();
const scorer = core.scorers[0];
let serialized = 0;
let origins = 0;
for (let p = 0; p < PARTITIONS; p++) {
  for (const { state } of core.entries(p)) {
    serialized += scorer.serialize(state).length;
    origins += state.origins.length;
  }
}

console.log(
  JSON.stringify({
    events: processed,
    credentials: size?.entries,
    coreEventsPerSecond: Math.round(processed / (busyMs / 1000)),
    coreMs: Math.round(busyMs),
    // CPU time of this process only: on a shared machine wall time includes other tenants.
    coreEventsPerCpuSecond: Math.round(processed / (busyCpuUs / 1e6)),
    alerts,
    changelogRecords: changelog,
    stateBytesPerCredentialEstimate: size && size.entries ? Math.round(size.bytes / size.entries) : 0,
    heapBytesPerCredential: global.gc && size?.entries ? Math.round((heapAfter - heapBefore) / size.entries) : null,
    serializedBytesPerCredential: size?.entries ? Math.round(serialized / size.entries) : 0,
    originsPerCredential: size?.entries ? +(origins / size.entries).toFixed(2) : 0,
    detector: scorer?.name,
  }),
);
