// Test support: a Kafka broker of a test's own (free loopback ports, its own data dir),
// for tests that stop and restart the broker. The shared broker of kafkaBrokers() is
// never stopped by a test.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { KAFKA_SCRIPT } from './kafka.js';

export interface PrivateKafka {
  readonly brokers: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Picks the ports and the data dir under `workDir`; the broker starts on the first start(). */
export async function privateKafka(workDir: string): Promise<PrivateKafka> {
  const [port, controller] = [await freePort(), await freePort()];
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_DATA_DIR: join(workDir, 'kafka'), KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m' };
  const run = (cmd: 'start' | 'stop'): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile('bash', [KAFKA_SCRIPT, cmd], { env, timeout: 240_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`kafka.sh ${cmd} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });
  return { brokers: [`127.0.0.1:${port}`], start: () => run('start'), stop: () => run('stop') };
}
