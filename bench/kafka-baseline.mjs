// The baseline for figures that cross Kafka: one produce → consume hop on the same
// broker, measured with plain kafkajs in the same run.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { summarize } from './lib.mjs';

export async function kafkaHopLatency(brokers, samples = 200) {
  const kafka = new Kafka({ clientId: 'bench-hop', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench.hop.${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `${topic}.g`, maxWaitTimeInMs: 100 });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic, fromBeginning: true });
  const waiting = new Map();
  await consumer.run({ eachMessage: async ({ message }) => waiting.get(message.key.toString())?.() });
  await new Promise((r) => setTimeout(r, 2000)); // let the group settle before timing
  const lat = [];
  for (let i = 0; i < samples; i++) {
    const key = String(i);
    const got = new Promise((r) => waiting.set(key, r));
    const t0 = process.hrtime.bigint();
    await producer.send({ topic, messages: [{ key, value: Buffer.alloc(200) }] });
    await got;
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await Promise.all([consumer.disconnect(), producer.disconnect()]);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return summarize(lat);
}
