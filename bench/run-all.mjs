// Runs every figure's script in turn (each prints its figure and its same-run baseline).
// `npm run bench` after `npm run build`. Needs PostgreSQL on 127.0.0.1:5432 and, for the
// Kafka figures, a broker (KAFKA_BROKERS or `bash deploy/local/kafka.sh start`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const scripts = [
  ['policy-decision.mjs'],
  ['masking-throughput.mjs'],
  ['event-decode.mjs'],
  ['detectors-throughput.mjs'],
  ['sink-insert-rate.mjs'],
  ['exec-latency.mjs'],
  ['pipeline-throughput.mjs'],
  ['block-latency.mjs'],
];
let failed = 0;
for (const [script, ...args] of scripts) {
  console.log(`\n## node bench/${script} ${args.join(' ')}`.trimEnd());
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
