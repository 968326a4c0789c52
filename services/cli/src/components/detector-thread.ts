import { parentPort, workerData } from 'node:worker_threads';
import { createBus } from '@portcullis/bus';
import { createLogger, MetricsRegistry, isPcxError, type PortcullisConfig } from '@portcullis/common';
import type { DetectorRuntime } from '@portcullis/detectors';
import { startDetectors } from './detectors.js';
import type { ThreadData, ThreadMessage, ThreadReply } from './detector-thread-protocol.js';

/**
 * One detector thread (detector-threads.ts starts them): a whole detector runtime — its
 * own Kafka connections, consumer-group membership, partitions and state — that reports
 * its stats and metrics to the main thread every second and on close.
 */
const port = parentPort;
if (!port) throw new Error('detector-thread.ts runs as a worker thread');
const { config, thread, reportIntervalMs } = workerData as ThreadData;
const logger = createLogger('portcullis-detectors', config.log.level).child({ thread });
const metrics = new MetricsRegistry();
const reply = (m: ThreadReply): void => port.postMessage(m);

let runtime: DetectorRuntime | undefined;
let closeBus: (() => Promise<void>) | undefined;
let timer: NodeJS.Timeout | undefined;
const report = (): void => {
  if (runtime) reply({ type: 'stats', stats: runtime.stats(), metrics: metrics.render() });
};

port.on('message', (m: ThreadMessage) => {
  if (m.type !== 'close') return;
  if (timer) clearInterval(timer);
  void (async () => {
    try {
      await runtime?.close();
      report();
      await closeBus?.();
    } catch (e) {
      logger.error({ err: e }, 'detector thread close failed');
    }
    reply({ type: 'closed' });
  })();
});

try {
  const bus = createBus(config.bus, logger, { metrics });
  closeBus = () => bus.close();
  // This thread is one member; the others are its siblings in the same group.
  const single: PortcullisConfig = { ...config, detectors: { ...config.detectors, runtime: { ...config.detectors.runtime, threads: 1 } } };
  runtime = await startDetectors(single, bus, logger, metrics);
  timer = setInterval(report, reportIntervalMs);
  report();
  reply({ type: 'ready' });
} catch (e) {
  await closeBus?.().catch(() => {});
  reply({ type: 'failed', code: isPcxError(e) ? e.code : 'PCX_INTERNAL', message: e instanceof Error ? e.message : String(e) });
}
