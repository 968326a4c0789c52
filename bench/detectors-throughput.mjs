// Figures: events/s through the detector runtime core with every configured detector on
// (the scorers and the risk aggregator), in one process (budget ≥ 100k events/s), and
// detector state bytes per entity, per detector.
// Baseline (same run): decoding the same protobuf events with protobufjs' generated
// AccessEvent.decode and nothing else — the floor any protobufjs consumer of
// portcullis.events pays. Not decodeEvent, which the core calls: that is the hand decoder
// (proto/src/event-decoder.ts, bench/event-decode.mjs), faster than this floor.
// The core is the runtime without the broker: decode → scorers → aggregator → per-partition
// state → alert/decision/changelog records, serialised as they would be published
// (bench/pipeline-throughput.mjs covers Kafka).
// It is driven as run-detectors drives it: one core.process per batch of 500 records of a
// partition (the runtime's default maxBatch), and a state flush per partition every commit
// interval (detectors.runtime.commitIntervalMs, default 5 s of wall clock, or sooner after
// commitMaxRecords) that writes each entity changed since the last flush once.
// --commit-ms 0 flushes after every batch (the runtime before the commit interval).
// --threads N runs N worker threads in this one process, each owning every Nth partition
// with its own core, as `portcullis detectors` does with detectors.runtime.threads: N
// consumer-group members in one process (each thread consumes its partitions itself, so
// nothing is relayed between threads). The figure is all events over the wall time from
// one start signal to the last thread done.
// Traffic: bench/agent-traffic.mjs (sessions of REQUEST/RESPONSE pairs, manifests, and a
// few agents that read from new origins, pull bulk rows or leak cards to a new destination).
//   npm run build && node --expose-gc bench/detectors-throughput.mjs [--events 1000000] [--agents 10000] [--only DETECTOR|none] [--batch 500] [--commit-ms 5000] [--commit-records 100000] [--threads 1]
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseConfig } from '@portcullis/common';
import { createAggregator, createScorers, DetectorCore } from '@portcullis/detectors';
import { AccessEvent } from '@portcullis/proto';
import { agentTraffic, TRAFFIC_T0 } from './agent-traffic.mjs';
import { report } from './lib.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, agents: { type: 'string', default: '10000' }, only: { type: 'string' }, batch: { type: 'string', default: '500' }, 'commit-ms': { type: 'string' }, 'commit-records': { type: 'string' }, threads: { type: 'string', default: '1' } } });
const THREADS = Number(values.threads);
const N = Number(values.events);
const AGENTS = Number(values.agents);
const PARTITIONS = 6;
// Records per core.process call: 500 is the runtime's default maxBatch (detectors.runtime.maxBatch),
// and run-detectors writes the changelog once per batch, so this is the production flush rate.
const BATCH = Number(values.batch);
const RUNTIME = parseConfig({}).detectors.runtime;
const COMMIT_MS = Number(values['commit-ms'] ?? RUNTIME.commitIntervalMs);
const COMMIT_RECORDS = Number(values['commit-records'] ?? RUNTIME.commitMaxRecords);
const T0 = TRAFFIC_T0;
const { encoded, partitionOf, manifests } = agentTraffic({ events: N, agents: AGENTS, partitions: PARTITIONS });

function baseline() {
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < N; i++) sink += AccessEvent.decode(encoded[i]).time > 0 ? 1 : 0;
  if (sink !== N) throw new Error('decode failed');
  return N / ((performance.now() - t0) / 1000);
}

/** Scores the records of the partitions in `mine` (all by default), as one member owning them. */
function run(mine = new Set(Array.from({ length: PARTITIONS }, (_, p) => p))) {
  const config = parseConfig({ detectors: { commandAnomaly: { block: true } } });
  // --only NAME: one scorer alone (no aggregator), for per-detector figures.
  const scorers = createScorers(config.detectors).filter((s) => values.only === undefined || s.name === values.only);
  const aggregator = values.only === undefined ? createAggregator(config.detectors) : undefined;
  const windowed = COMMIT_MS > 0;
  const core = new DetectorCore(scorers, { productVersion: 'bench', aggregator, flush: windowed ? 'explicit' : 'batch' });
  for (const p of mine) core.assign(p);
  const pending = Array.from({ length: PARTITIONS }, () => []);
  const totals = { events: 0, alerts: 0, decisions: 0, changelog: 0, changelogBytes: 0, deadLetters: 0, flushes: 0 };
  const offsets = new Array(PARTITIONS).fill(0);
  // Per partition, as run-detectors keeps them: when the open window began and its records.
  const openedAt = new Array(PARTITIONS).fill(-1);
  const windowRecords = new Array(PARTITIONS).fill(0);
  const countChangelog = (changelog) => {
    for (const records of changelog.values()) {
      totals.changelog += records.length;
      for (const r of records) totals.changelogBytes += r.value ? r.value.length : 0;
    }
  };
  const endWindow = (p) => {
    const f = core.flush(p);
    if (f) {
      countChangelog(f.changelog);
      totals.flushes += 1;
    }
    openedAt[p] = -1;
    windowRecords[p] = 0;
  };
  const flush = (p) => {
    const out = core.process(p, pending[p]);
    totals.events += out.events;
    totals.alerts += out.alerts.length;
    totals.decisions += out.decisions.length;
    totals.deadLetters += out.deadLetters.length;
    countChangelog(out.changelog);
    if (windowed) {
      const now = performance.now();
      if (openedAt[p] < 0) openedAt[p] = now;
      windowRecords[p] += pending[p].length;
      if (now - openedAt[p] >= COMMIT_MS || windowRecords[p] >= COMMIT_RECORDS) endWindow(p);
    } else totals.flushes += 1;
    pending[p] = [];
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const p = partitionOf[i];
    if (!mine.has(p)) continue;
    pending[p].push({ topic: 'portcullis.events', partition: p, offset: String(offsets[p]++), key: null, value: encoded[i], timestamp: T0 });
    if (pending[p].length >= BATCH) flush(p);
  }
  for (const p of mine) {
    flush(p);
    if (windowed) endWindow(p);
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Per CPU second as well: on a shared machine the wall figure moves with the neighbours' load.
  return { rate: totals.events / secs, perCpuSecond: totals.events / ((cpu.user + cpu.system) / 1e6), totals, detectors: core.detectorNames(), state: core.stateSize() };
}

/** N worker threads (this script again), started together; the figure is over the slowest. */
async function threaded() {
  const workers = Array.from({ length: THREADS }, (_, w) => new Worker(new URL(import.meta.url), { argv: process.argv.slice(2), workerData: { mine: Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % THREADS === w) } }));
  const next = (worker) => new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await Promise.all(workers.map(next)); // each has built its traffic
  const done = workers.map(next);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const w of workers) w.postMessage('go');
  const results = await Promise.all(done);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(workers.map((w) => w.terminate()));
  const totals = {};
  for (const r of results) for (const [k, v] of Object.entries(r.totals)) totals[k] = (totals[k] ?? 0) + v;
  const state = new Map();
  for (const r of results) {
    for (const s of r.state) {
      const row = state.get(s.detector) ?? { detector: s.detector, entries: 0, bytes: 0, serializedBytes: 0 };
      row.entries += s.entries;
      row.bytes += s.bytes;
      row.serializedBytes += s.serializedBytes;
      state.set(s.detector, row);
    }
  }
  return { rate: totals.events / secs, perCpuSecond: totals.events / ((cpu.user + cpu.system) / 1e6), totals, detectors: results[0].detectors, state: [...state.values()] };
}

if (!isMainThread) {
  globalThis.gc?.(); // the traffic build's garbage, before the clock starts (as in the one-thread run)
  parentPort.postMessage('ready');
  parentPort.once('message', () => {
    const r = run(new Set(workerData.mine));
    parentPort.postMessage({ totals: r.totals, detectors: r.detectors, state: r.state });
  });
} else {
  const base = baseline();
  globalThis.gc?.();
  const r = THREADS > 1 ? await threaded() : run();
  const name = `${values.only === undefined ? 'detectors, all on' : `detectors, only ${values.only}`}, one process${THREADS > 1 ? `, ${THREADS} threads` : ''}`;
  report({ name, value: r.rate, unit: 'events/s', baseline: 'protobuf decode only (one thread)', baselineValue: base, ratio: r.rate / base, eventsPerCpuSecond: Math.round(r.perCpuSecond), threads: THREADS, events: N, agents: AGENTS, manifests, batch: BATCH, commitIntervalMs: COMMIT_MS, commitMaxRecords: COMMIT_RECORDS, detectors: r.detectors, ...r.totals, budget: '>= 100k events/s' });
  for (const s of r.state) {
    report({ name: `detector state bytes per entity (${s.detector})`, value: s.entries ? s.bytes / s.entries : 0, unit: 'bytes', baseline: 'serialized event size', baselineValue: encoded[0].length, ratio: (s.entries ? s.bytes / s.entries : 0) / encoded[0].length, entries: s.entries, serializedBytesPerEntity: s.entries ? s.serializedBytes / s.entries : 0 });
  }
}
