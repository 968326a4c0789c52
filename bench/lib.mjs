// Shared helpers for the bench scripts: percentiles, a child process that prints a ready
// line, a temp config, and one output format (a human line and a JSON line per figure).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'services/cli/dist/main.js');

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samplesMs) {
  const s = Float64Array.from(samplesMs).sort();
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export function fmt(n, digits = 3) {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

/** Prints one figure: a readable line, then a JSON line for docs/benchmarks.md. */
export function report(figure) {
  const { name, value, unit, baseline, baselineValue, ratio, ...rest } = figure;
  console.log(`${name}: ${fmt(value)} ${unit}  | baseline (${baseline}): ${fmt(baselineValue)} ${unit}  | ratio ${Number(ratio).toPrecision(3)}`);
  console.log(JSON.stringify({ figure: name, value, unit, baseline, baselineValue, ratio, ...rest }));
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `pcx-bench-${prefix}-`));
}

export function newToken() {
  const token = `pcx_${randomBytes(32).toString('base64url')}`;
  return { token, sha256: createHash('sha256').update(token).digest('hex') };
}

export function writeConfig(dir, yamlText) {
  const path = join(dir, 'portcullis.yaml');
  writeFileSync(path, yamlText);
  return path;
}

/** Starts `portcullis <args>` (or another script) and resolves once it prints a line matching `ready`. */
export function startCli(args, env, ready = /portcullis .*ready/, script = CLI) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`not ready after 60 s: ${out}\n${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => ready.test(l));
      if (line) {
        clearTimeout(timer);
        resolve({ child, line, stop: () => stop(child) });
      }
    });
    child.stderr.on('data', (d) => (err = (err + d).slice(-8000)));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portcullis ${args[0]} exited ${code}: ${err}`));
    });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** Runs `fn` with at most `concurrency` calls in flight until `total` calls finished; returns each call's latency in ms. */
export async function measure(total, concurrency, fn) {
  const lat = new Array(total);
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = process.hrtime.bigint();
      await fn(i);
      lat[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return lat;
}
