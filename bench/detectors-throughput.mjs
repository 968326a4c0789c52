// Figures: events/s through the detector runtime core with every configured detector on,
// in one process (budget ≥ 100k events/s), and detector state bytes per entity.
// Baseline (same run): decoding the same protobuf events and nothing else — the floor
// any consumer of portcullis.events pays.
// The core is the runtime without the broker: decode → scorers → per-partition state →
// alert/decision/changelog records (bench/pipeline-throughput.mjs covers Kafka).
//   npm run build && node --expose-gc bench/detectors-throughput.mjs [--events 1000000] [--agents 10000]
import { parseArgs } from 'node:util';
import { parseConfig } from '@portcullis/common';
import { createScorers, DetectorCore } from '@portcullis/detectors';
import { ConnectionKind, decodeEvent, encodeEvent, IdentityKind, Phase } from '@portcullis/proto';
import { report } from './lib.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, agents: { type: 'string', default: '10000' } } });
const N = Number(values.events);
const AGENTS = Number(values.agents);
const PARTITIONS = 6;
const BATCH = 500;
const T0 = Date.UTC(2026, 0, 5);
const TABLES = ['orders', 'customers', 'payments', 'items', 'refunds', 'payroll'];

let seed = 42;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

// A REQUEST then its RESPONSE per command; agents keep to a few origins and tables.
const encoded = new Array(N);
const partitionOf = new Uint8Array(N);
for (let i = 0; i < N; i += 2) {
  const a = Math.floor(rand() * AGENTS);
  const o = Math.floor(rand() * (1 + (a % 3)));
  const table = TABLES[(a + Math.floor(rand() * 2)) % TABLES.length];
  const base = {
    requestId: `r${i}`,
    sessionId: `s${a}`,
    environment: 'bench',
    gatewayId: 'gw-1',
    identity: { subject: `agent:${a}`, kind: IdentityKind.AGENT, credentialId: `tok_${a}`, groups: ['agents'] },
    origin: { peerIp: `10.${(a >> 8) & 255}.${a & 255}.${o}`, declaredHost: `worker-${a}-${o}`, containerId: `ctr-${a}-${o}` },
    connection: { name: 'orders', kind: ConnectionKind.POSTGRES, targetHost: 'db:5432', targetDb: 'orders' },
    command: { fingerprint: `SELECT * FROM ${table} WHERE id = $1 LIMIT $2`, statementType: 'SELECT', tables: [table], hasWhere: true, hasLimit: true },
  };
  const t = T0 + i * 500;
  encoded[i] = encodeEvent({ ...base, eventId: `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`, time: t, phase: Phase.REQUEST });
  encoded[i + 1] = encodeEvent({ ...base, eventId: `0190f0a0-0000-7000-8000-${String(i + 1).padStart(12, '0')}`, time: t + 3, phase: Phase.RESPONSE, response: { rows: 1 + Math.floor(rand() * 20), bytes: 200 + Math.floor(rand() * 2000), durationMs: 0.5, destination: `app-${a % 5}` } });
  partitionOf[i] = partitionOf[i + 1] = a % PARTITIONS;
}

function baseline() {
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < N; i++) sink += decodeEvent(encoded[i]).time > 0 ? 1 : 0;
  if (sink !== N) throw new Error('decode failed');
  return N / ((performance.now() - t0) / 1000);
}

function run() {
  const config = parseConfig({});
  const scorers = createScorers(config.detectors);
  const core = new DetectorCore(scorers, { productVersion: 'bench' });
  for (let p = 0; p < PARTITIONS; p++) core.assign(p);
  const pending = Array.from({ length: PARTITIONS }, () => []);
  let processed = 0;
  let alerts = 0;
  const offsets = new Array(PARTITIONS).fill(0);
  const flush = (p) => {
    const out = core.process(p, pending[p]);
    processed += out.events;
    alerts += out.alerts.length;
    pending[p] = [];
  };
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const p = partitionOf[i];
    pending[p].push({ topic: 'portcullis.events', partition: p, offset: String(offsets[p]++), key: null, value: encoded[i], timestamp: T0 });
    if (pending[p].length >= BATCH) flush(p);
  }
  for (let p = 0; p < PARTITIONS; p++) flush(p);
  const secs = (performance.now() - t0) / 1000;
  return { rate: processed / secs, alerts, detectors: scorers.map((s) => s.name), state: core.stateSize() };
}

const base = baseline();
const r = run();
report({ name: 'detectors, all on, one process', value: r.rate, unit: 'events/s', baseline: 'protobuf decode only', baselineValue: base, ratio: r.rate / base, events: N, agents: AGENTS, detectors: r.detectors, alerts: r.alerts, budget: '>= 100k events/s' });
for (const s of r.state) {
  report({ name: `detector state bytes per entity (${s.detector})`, value: s.entries ? s.bytes / s.entries : 0, unit: 'bytes', baseline: 'serialized event size', baselineValue: encoded[0].length, ratio: (s.entries ? s.bytes / s.entries : 0) / encoded[0].length, entries: s.entries });
}
