// Figure: AccessEvents decoded per second by decodeEvent (the hand decoder,
// proto/src/event-decoder.ts), on the traffic bench/detectors-throughput.mjs builds.
// Baseline (same run, same events): protobufjs' generated AccessEvent.decode — what
// decodeEvent called before, and what any protobufjs consumer of portcullis.events pays.
// The two alternate over several rounds and each keeps its best round: the machine is
// shared, and the best round is the one least disturbed by the neighbours (the median of
// the per-round ratios is printed too).
// Traffic: bench/agent-traffic.mjs, the fleet detectors-throughput.mjs scores.
//   npm run build && node --expose-gc bench/event-decode.mjs [--events 200000] [--agents 10000] [--rounds 11]
import { parseArgs } from 'node:util';
import { AccessEvent, decodeEvent } from '@portcullis/proto';
import { agentTraffic } from './agent-traffic.mjs';
import { report } from './lib.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' }, agents: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '11' } } });
const N = Number(values.events);
const AGENTS = Number(values.agents);
const ROUNDS = Number(values.rounds);
const { encoded } = agentTraffic({ events: N, agents: AGENTS });

// Decoded events stay alive for a batch (the runtime's default 500 records), as the
// detector core holds them, so the garbage collector's share of the cost is in the figure.
const BATCH = 500;
function round(decode) {
  globalThis.gc?.();
  const kept = new Array(BATCH);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) kept[i % BATCH] = decode(encoded[i]);
  const secs = (performance.now() - t0) / 1000;
  if (!(kept[0].time > 0)) throw new Error('decode failed');
  return N / secs;
}

const protobufjs = (b) => AccessEvent.decode(b);
let best = 0;
let baseBest = 0;
const ratios = [];
for (let r = 0; r < ROUNDS; r++) {
  const base = round(protobufjs);
  const rate = round(decodeEvent);
  baseBest = Math.max(baseBest, base);
  best = Math.max(best, rate);
  ratios.push(rate / base);
}
ratios.sort((a, b) => a - b);
const bytes = encoded.reduce((n, b) => n + b.length, 0) / N;
report({ name: 'AccessEvent decode (decodeEvent)', value: best, unit: 'events/s', baseline: 'protobufjs AccessEvent.decode', baselineValue: baseBest, ratio: best / baseBest, medianRoundRatio: ratios[ratios.length >> 1], events: N, agents: AGENTS, rounds: ROUNDS, meanEventBytes: Math.round(bytes) });
