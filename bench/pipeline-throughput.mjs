// Figure: events per second from the gateway's publisher through Kafka into the
// detector runtime (all configured detectors on, one process).
// Baseline (same run): the same encoded events produced and consumed with plain kafkajs
// (batched sends, eachBatch consumer), i.e. what the broker and client alone allow.
//   npm run build && node bench/pipeline-throughput.mjs [--events 200000]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createBus, createSpoolingPublisher } from '@portcullis/bus';
import { parseConfig, silentLogger, topicSpecs } from '@portcullis/common';
import { createScorers, runDetectors } from '@portcullis/detectors';
import { ConnectionKind, encodeEvent, IdentityKind, Phase } from '@portcullis/proto';
import { report, tempDir } from './lib.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' } } });
const N = Number(values.events);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const run = randomBytes(3).toString('hex');
const logger = silentLogger();
const T0 = Date.UTC(2026, 0, 5);

const events = Array.from({ length: N }, (_, i) => {
  const agent = i % 500;
  return {
    key: `agent:${agent}`,
    value: encodeEvent({
      eventId: `0190f0a0-0000-7000-8000-${String(i).padStart(12, '0')}`,
      requestId: `r${i >> 1}`,
      sessionId: `s${agent}`,
      time: T0 + i * 10,
      phase: i % 2 === 0 ? Phase.REQUEST : Phase.RESPONSE,
      environment: 'bench',
      gatewayId: 'gw-bench',
      identity: { subject: `agent:${agent}`, kind: IdentityKind.AGENT, credentialId: `tok_${agent}`, groups: ['agents'] },
      origin: { peerIp: `10.0.${agent >> 8}.${agent & 255}`, declaredHost: `runner-${agent % 7}`, containerId: `ctr-${agent}` },
      connection: { name: 'orders', kind: ConnectionKind.POSTGRES, targetHost: 'db:5432', targetDb: 'orders' },
      command: { text: 'SELECT id FROM orders WHERE customer_id = 1 LIMIT 10', fingerprint: 'SELECT id FROM orders WHERE customer_id = $1 LIMIT $2', statementType: 'SELECT', tables: ['orders'], hasWhere: true, hasLimit: true },
      response: i % 2 === 1 ? { rows: 10, bytes: 420, durationMs: 0.4 } : undefined,
    }),
  };
});

async function baseline() {
  const kafka = new Kafka({ clientId: 'bench-base', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench.base.${run}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${topic}.g` });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let done;
  const all = new Promise((r) => (done = r));
  await consumer.run({ eachBatch: async ({ batch }) => { seen += batch.messages.length; if (seen >= N) done(); } });
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) await producer.send({ topic, messages: events.slice(i, i + 1000) });
  await all;
  const secs = (performance.now() - t0) / 1000;
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return N / secs;
}

async function pipeline() {
  const config = parseConfig({ bus: { kind: 'kafka', brokers }, detectors: { groupId: `bench-det-${run}` } });
  const bus = createBus(config.bus, logger);
  const topics = { events: `bench.events.${run}`, alerts: `bench.alerts.${run}`, decisions: `bench.decisions.${run}`, dlq: `bench.dlq.${run}`, state: (d) => `bench.state.${run}.${d}` };
  await bus.ensureTopics(topicSpecs(config.bus.partitions).map((s) => ({ ...s, name: s.name.replace('portcullis.', `bench.`) + `.${run}` })));
  const detectors = await runDetectors({ bus, scorers: createScorers(config.detectors), logger, config: config.detectors, topics, partitions: config.bus.partitions });
  const publisher = await createSpoolingPublisher(bus, { dir: tempDir('pipe'), maxBytes: 1 << 30, maxQueued: N, logger });
  const t0 = performance.now();
  for (const e of events) publisher.publish(topics.events, { key: e.key, value: e.value });
  while (detectors.stats().events < N) await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - t0) / 1000;
  const state = detectors.stats().state;
  await publisher.close();
  await detectors.close();
  await bus.close();
  return { rate: N / secs, state };
}

const base = await baseline();
const { rate, state } = await pipeline();
report({ name: 'events/s, gateway publisher → Kafka → detector runtime', value: rate, unit: 'events/s', baseline: 'plain kafkajs produce → consume', baselineValue: base, ratio: rate / base, events: N, state });
