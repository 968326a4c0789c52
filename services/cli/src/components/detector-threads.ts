import { Worker } from 'node:worker_threads';
import { PcxError, withLabel, type Logger, type MetricsRegistry, type ErrorCode, type PortcullisConfig } from '@portcullis/common';
import type { DetectorRuntime, DetectorStats } from '@portcullis/detectors';
import type { ThreadData, ThreadMessage, ThreadReply } from './detector-thread-protocol.js';

/**
 * `detectors.runtime.threads` > 1: that many detector runtimes in worker threads of this
 * process (detector-thread.ts), each one member of the consumer group with its own
 * Kafka connections, partitions and state — the group spreads the partitions over them,
 * so nothing is relayed between threads and every guarantee of one member holds for
 * each. Kafka Streams calls this num.stream.threads. The main thread only merges their
 * stats and metrics (each sample labelled with its thread) and closes them.
 */
export interface DetectorThreadsOptions {
  /** How often each thread reports stats and metrics. Default 1000 ms. */
  reportIntervalMs?: number;
  /** How long close() waits for a thread to flush and leave before it is terminated. Default 30 s. */
  closeTimeoutMs?: number;
}

export async function startDetectorThreads(config: PortcullisConfig, logger: Logger, metrics: MetricsRegistry, options: DetectorThreadsOptions = {}): Promise<DetectorRuntime> {
  const count = config.detectors.runtime.threads;
  const reportIntervalMs = options.reportIntervalMs ?? 1_000;
  const latest: Array<{ stats: DetectorStats | undefined; metrics: string; alive: boolean }> = [];
  const threads = Array.from({ length: count }, (_, thread) => {
    const data: ThreadData = { config, thread, reportIntervalMs };
    const worker = new Worker(threadEntry(), { workerData: data, execArgv: compiledExecArgv() });
    const slot = { stats: undefined as DetectorStats | undefined, metrics: '', alive: true };
    latest.push(slot);
    worker.on('message', (m: ThreadReply) => {
      if (m.type === 'stats') {
        slot.stats = m.stats;
        slot.metrics = m.metrics;
      }
    });
    worker.on('error', (err) => logger.error({ err, thread }, 'detector thread crashed; its partitions move to the other threads'));
    worker.on('exit', () => (slot.alive = false));
    metrics.addSource(() => withLabel(slot.metrics, 'thread', String(thread)));
    return worker;
  });

  const started = await Promise.all(threads.map((w) => replyOf(w, ['ready', 'failed'])));
  const failed = started.findIndex((r) => r.type === 'failed');
  if (failed >= 0) {
    await Promise.all(threads.map((w) => w.terminate()));
    const r = started[failed] as Extract<ThreadReply, { type: 'failed' }>;
    throw new PcxError(r.code as ErrorCode, `detector thread ${failed} failed to start: ${r.message}`, { thread: failed });
  }
  logger.info({ threads: count }, 'detector threads running');

  let closed = false;
  return {
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all(
        threads.map(async (w, thread) => {
          if (!latest[thread]?.alive) return;
          const bye = replyOf(w, ['closed']);
          w.postMessage({ type: 'close' } satisfies ThreadMessage);
          const timeoutMs = options.closeTimeoutMs ?? 30_000;
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeoutMs)));
          if ((await Promise.race([bye, late])) === 'late') logger.warn({ thread, timeoutMs }, 'detector thread did not close in time; terminating it');
          clearTimeout(timer);
          await w.terminate();
        }),
      );
    },
    stats: () => mergeStats(latest.flatMap((s) => (s.stats ? [s.stats] : []))),
  };
}

/** The next reply of one of the given types (a thread that exits first counts as failed). */
function replyOf(worker: Worker, types: ReadonlyArray<ThreadReply['type']>): Promise<ThreadReply> {
  return new Promise((resolve) => {
    const onMessage = (m: ThreadReply): void => {
      if (!types.includes(m.type)) return;
      done();
      resolve(m);
    };
    let error = '';
    const onError = (e: Error): void => {
      error = `: ${e.message}`;
    };
    const onExit = (code: number): void => {
      done();
      resolve({ type: 'failed', code: 'PCX_INTERNAL', message: `thread exited (code ${code})${error}` });
    };
    const done = (): void => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      worker.off('error', onError);
    };
    worker.on('message', onMessage);
    worker.on('exit', onExit);
    worker.on('error', onError);
  });
}

/** The compiled thread entry: this file's sibling in dist/ (under a TypeScript test runner this file is the src/ one). */
function threadEntry(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL(here.replace(/\/src\/components\/detector-threads\.ts$/, '/dist/components/detector-thread.js'));
  return new URL('./detector-thread.js', here);
}

/**
 * This process's node flags minus export conditions: a thread runs the compiled code, so
 * packages must resolve to their built entry even when the parent runs under a
 * TypeScript runner that resolves a `source` condition (the tests).
 */
function compiledExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--conditions' || a === '-C') i++;
    else if (!a.startsWith('--conditions=') && !a.startsWith('-C=')) out.push(a);
  }
  return out;
}

/** One process's stats from its threads' (each owns different partitions). */
export function mergeStats(all: readonly DetectorStats[]): DetectorStats {
  const sum = (f: (s: DetectorStats) => number): number => all.reduce((n, s) => n + f(s), 0);
  const state = new Map<string, { detector: string; entries: number; bytes: number; bytesPerEntry: number }>();
  for (const s of all) {
    for (const d of s.state) {
      const row = state.get(d.detector) ?? { detector: d.detector, entries: 0, bytes: 0, bytesPerEntry: 0 };
      row.entries += d.entries;
      row.bytes += d.bytes;
      row.bytesPerEntry = row.entries ? row.bytes / row.entries : 0;
      state.set(d.detector, row);
    }
  }
  const sorted = (f: (s: DetectorStats) => number[]): number[] => all.flatMap(f).sort((a, b) => a - b);
  return {
    events: sum((s) => s.events),
    eventsPerSecond: sum((s) => s.eventsPerSecond),
    alerts: sum((s) => s.alerts),
    decisions: sum((s) => s.decisions),
    suppressed: sum((s) => s.suppressed),
    deadLetters: sum((s) => s.deadLetters),
    duplicates: sum((s) => s.duplicates),
    publishFailures: sum((s) => s.publishFailures),
    flushes: sum((s) => s.flushes),
    flushFailures: sum((s) => s.flushFailures),
    partitions: sorted((s) => s.partitions),
    restoring: sorted((s) => s.restoring),
    paused: all.some((s) => s.paused),
    pendingRecords: sum((s) => s.pendingRecords),
    lag: all.flatMap((s) => s.lag).sort((a, b) => a.partition - b.partition),
    state: [...state.values()],
  };
}
