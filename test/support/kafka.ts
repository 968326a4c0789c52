// Test support: a real Kafka broker for integration tests.
//
// kafkaBrokers() picks, in order:
//   1. KAFKA_BROKERS (comma-separated host:port list), when set — CI sets it after
//      `bash deploy/local/kafka.sh start`;
//   2. a Testcontainers Kafka 4.x container, when a Docker engine answers a ping;
//   3. the local broker from Maven Central jars: `bash deploy/local/kafka.sh start`
//      (idempotent, serialised by a lock, so parallel test files may all call it).
// The result is memoised per process.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/** The local script that runs a single-node KRaft broker without Docker. */
export const KAFKA_SCRIPT = fileURLToPath(new URL('../../deploy/local/kafka.sh', import.meta.url));

/**
 * Image for the Testcontainers path. @testcontainers/kafka's KafkaContainer drives the
 * Confluent image's start scripts (it does not support the apache/kafka image);
 * cp-kafka 8.x is Apache Kafka 4.x and runs in KRaft mode there.
 */
export const KAFKA_TESTCONTAINERS_IMAGE =
  process.env.KAFKA_TESTCONTAINERS_IMAGE ?? 'confluentinc/cp-kafka:8.0.0';

let brokers: Promise<string[]> | undefined;

/** Bootstrap servers of a running Kafka 4.x broker, starting one if needed. */
export function kafkaBrokers(): Promise<string[]> {
  brokers ??= resolveBrokers().catch((e: unknown) => {
    brokers = undefined; // let a later call retry
    throw e;
  });
  return brokers;
}

async function resolveBrokers(): Promise<string[]> {
  const fromEnv = parseBrokers(process.env.KAFKA_BROKERS);
  if (fromEnv.length > 0) return fromEnv;
  if (await dockerReachable()) return startContainer();
  return startLocal();
}

function parseBrokers(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

async function startContainer(): Promise<string[]> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(KAFKA_TESTCONTAINERS_IMAGE).start();
  // Testcontainers' reaper removes the container when this process exits.
  return [`${container.getHost()}:${container.getMappedPort(9093)}`];
}

function startLocal(): Promise<string[]> {
  const port = process.env.KAFKA_PORT ?? '9092';
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [KAFKA_SCRIPT, 'start'],
      // The first run fetches the jars with Maven; later runs take a few seconds.
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${KAFKA_SCRIPT} start failed: ${error.message}\n${stdout}${stderr}`));
          return;
        }
        resolve([`127.0.0.1:${port}`]);
      },
    );
  });
}

/** True when a Docker engine answers GET /_ping within a second (DOCKER_HOST or the default socket). */
function dockerReachable(): Promise<boolean> {
  const dockerHost = process.env.DOCKER_HOST ?? '';
  let target: http.RequestOptions;
  if (dockerHost.startsWith('unix://')) {
    target = { socketPath: dockerHost.slice('unix://'.length) };
  } else if (dockerHost.startsWith('tcp://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else if (dockerHost === '' && existsSync('/var/run/docker.sock')) {
    target = { socketPath: '/var/run/docker.sock' };
  } else {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const req = http.get({ ...target, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * A topic name unique to this run: `<prefix>.<time>-<random>`, restricted to the
 * characters Kafka allows ([a-zA-Z0-9._-]) and to its 249-character limit.
 */
export function uniqueTopic(prefix: string): string {
  const clean = prefix.replace(/[^a-zA-Z0-9._-]/g, '-') || 'topic';
  const suffix = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  return `${clean.slice(0, 249 - suffix.length - 1)}.${suffix}`;
}
