// kafkajs 2.2.4 against a real Apache Kafka 4.x broker (KRaft).
//
// Kafka 4.0 removed old protocol versions (KIP-896) and kafkajs has not been released
// since 2.2.4, so this file proves, against the broker that tests and the distributed
// mode use, every Kafka feature the bus relies on: topic creation with configs,
// the idempotent producer and key → partition stability, consumer groups with
// rebalances, committed offsets and resume, and tombstones on compacted topics.
import { createRequire } from 'node:module';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type EachMessagePayload,
  type LogEntry,
} from 'kafkajs';
import { kafkaBrokers, uniqueTopic } from '../support/kafka.js';

const TIMEOUT = 60_000;

let brokers: string[] = [];
let kafka: Kafka;
let admin: Admin;
const consumers: Consumer[] = [];
// kafkajs warnings and errors seen during the run (printed at the end, asserted on below).
const clientLogs: { level: string; message: string }[] = [];

beforeAll(async () => {
  brokers = await kafkaBrokers();
  kafka = new Kafka({
    clientId: 'portcullis-kafka-compat',
    brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, error } = log as { message: string; error?: string };
        clientLogs.push({ level: levelName(level), message: error ? `${message}: ${error}` : message });
      },
    retry: { retries: 8, initialRetryTime: 100 },
  });
  admin = kafka.admin();
  await admin.connect();
}, 600_000); // the first run may fetch the broker's jars

afterAll(async () => {
  await Promise.allSettled(consumers.map((c) => c.disconnect()));
  await admin?.disconnect();
  if (clientLogs.length > 0) {
    console.info(
      `kafkajs warnings/errors during the run:\n${clientLogs.map((l) => `  ${l.level} ${l.message}`).join('\n')}`,
    );
  }
});

function levelName(level: logLevel): string {
  return Object.entries(logLevel).find(([, v]) => v === level)?.[0] ?? String(level);
}

/** A client for calls that are meant to fail: no retries, and its logs are not collected. */
function quietKafka(): Kafka {
  return new Kafka({
    clientId: 'portcullis-kafka-compat-quiet',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

function consumer(groupId: string): Consumer {
  const c = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    rebalanceTimeout: 20_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  consumers.push(c);
  return c;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Java's org.apache.kafka.common.utils.Utils.murmur2, written out independently of kafkajs. */
function javaMurmur2(data: Buffer): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  const length = data.length;
  let h = (seed ^ length) | 0;
  const length4 = Math.floor(length / 4);
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) +
      ((data[i4 + 1]! & 0xff) << 8) +
      ((data[i4 + 2]! & 0xff) << 16) +
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const javaPartition = (key: string, partitions: number): number =>
  (javaMurmur2(Buffer.from(key)) & 0x7fffffff) % partitions;

/** The broker's ApiVersions answer (v0), read over a raw socket. */
function brokerApiVersions(broker: string): Promise<Map<number, [number, number]>> {
  const [host, port] = [broker.slice(0, broker.lastIndexOf(':')), Number(broker.slice(broker.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => sock.destroy(new Error('ApiVersions timed out')), 5000);
    let buf = Buffer.alloc(0);
    sock.on('connect', () => {
      const clientId = Buffer.from('kafka-compat');
      const head = Buffer.alloc(14);
      head.writeInt32BE(10 + clientId.length, 0);
      head.writeInt16BE(18, 4); // ApiVersions
      head.writeInt16BE(0, 6); // v0
      head.writeInt32BE(1, 8); // correlation id
      head.writeInt16BE(clientId.length, 12);
      sock.write(Buffer.concat([head, clientId]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      clearTimeout(timer);
      sock.end();
      const body = buf.subarray(8);
      if (body.readInt16BE(0) !== 0) return reject(new Error(`ApiVersions error ${body.readInt16BE(0)}`));
      const out = new Map<number, [number, number]>();
      for (let i = 0, o = 6; i < body.readInt32BE(2); i++, o += 6) {
        out.set(body.readInt16BE(o), [body.readInt16BE(o + 2), body.readInt16BE(o + 4)]);
      }
      resolve(out);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('kafkajs 2.2.4 against Kafka 4.x', { timeout: TIMEOUT }, () => {
  it('shares a protocol version with the broker for every API kafkajs implements', async () => {
    // kafkajs picks, per API, the highest version both sides support; an API with no
    // overlap would fail at the first call. This lists any such API by name.
    const require = createRequire(import.meta.url);
    const apiKeys = require('kafkajs/src/protocol/requests/apiKeys.js') as Record<string, number>;
    const { requests } = require('kafkajs/src/protocol/requests/index.js') as {
      requests: Record<string, { versions: string[] }>;
    };
    const broker = await brokerApiVersions(brokers[0]!);
    const noOverlap: string[] = [];
    let checked = 0;
    for (const [name, key] of Object.entries(apiKeys)) {
      const ours = (requests[name]?.versions ?? []).map(Number);
      const theirs = broker.get(key);
      if (ours.length === 0 || !theirs) continue; // not implemented by kafkajs, or not a broker API
      checked++;
      if (!ours.some((v) => v >= theirs[0] && v <= theirs[1])) {
        noOverlap.push(`${name} (kafkajs ${ours.join(',')}, broker ${theirs[0]}-${theirs[1]})`);
      }
    }
    expect(checked).toBeGreaterThan(25);
    expect(noOverlap).toEqual([]);
    // The broker really is 4.x: Fetch v0-v3 and Produce v0-v2 are gone (KIP-896).
    expect(broker.get(1)![0]).toBeGreaterThanOrEqual(4);
  });

  it('creates topics with partition counts and configs, and no topic is created implicitly', async () => {
    const compacted = uniqueTopic('compat.decisions');
    const retained = uniqueTopic('compat.events');
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: compacted,
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
        {
          topic: retained,
          numPartitions: 6,
          replicationFactor: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) },
          ],
        },
      ],
    });
    expect(created).toBe(true);

    const { topics } = await admin.fetchTopicMetadata({ topics: [compacted, retained] });
    const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
    expect(partitions).toEqual({ [compacted]: 3, [retained]: 6 });

    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: 2, name: compacted, configNames: ['cleanup.policy'] }, // 2 = TOPIC
        { type: 2, name: retained, configNames: ['cleanup.policy', 'retention.ms'] },
      ],
    });
    const config = (topic: string, name: string) =>
      resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)?.configValue;
    expect(config(compacted, 'cleanup.policy')).toBe('compact');
    expect(config(retained, 'cleanup.policy')).toBe('delete');
    expect(config(retained, 'retention.ms')).toBe('604800000');

    const missing = uniqueTopic('compat.missing');

    const quietAdmin = quietKafka().admin();
    await quietAdmin.connect();
    try {
      // Creating an existing topic is reported, not an error.
      expect(await quietAdmin.createTopics({ topics: [{ topic: compacted, numPartitions: 3 }] })).toBe(false);
      // auto.create.topics.enable=false: metadata for an unknown topic does not create it.
      await expect(quietAdmin.fetchTopicMetadata({ topics: [missing] })).rejects.toThrow();
    } finally {
      await quietAdmin.disconnect();
    }
    expect(await admin.listTopics()).not.toContain(missing);
  });

  it('sends with an idempotent producer; a key always lands on the same, Java-compatible partition', async () => {
    const topic = uniqueTopic('compat.idempotent');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6 }] });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const keys = Array.from({ length: 20 }, (_, i) => `identity:agent-${i}`);
    const partitionOf = new Map<string, Set<number>>();
    const rounds = 5;
    try {
      for (let round = 0; round < rounds; round++) {
        const meta = await producer.send({
          topic,
          acks: -1, // the idempotent producer requires acks=all
          messages: keys.map((key) => ({ key, value: `${key}#${round}` })),
        });
        expect(meta.every((m) => m.errorCode === 0)).toBe(true);
      }
    } finally {
      await producer.disconnect();
    }

    // Read everything back: nothing lost, nothing duplicated, each key on one partition.
    const c = consumer(uniqueTopic('compat.idempotent.reader'));
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    const seen: { key: string; value: string; partition: number }[] = [];
    await c.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
      },
    });
    await waitFor('all messages', () => seen.length >= keys.length * rounds);
    await c.disconnect();

    expect(seen).toHaveLength(keys.length * rounds);
    expect(new Set(seen.map((s) => s.value)).size).toBe(keys.length * rounds);
    for (const s of seen) {
      if (!partitionOf.has(s.key)) partitionOf.set(s.key, new Set());
      partitionOf.get(s.key)!.add(s.partition);
    }
    for (const key of keys) {
      expect([...partitionOf.get(key)!]).toEqual([javaPartition(key, 6)]);
    }
    // Per key, order is kept.
    for (const key of keys) {
      const values = seen.filter((s) => s.key === key).map((s) => s.value);
      expect(values).toEqual(Array.from({ length: rounds }, (_, r) => `${key}#${r}`));
    }
    // The keys really are spread (not all on one partition).
    expect(new Set(keys.map((k) => javaPartition(k, 6))).size).toBeGreaterThan(3);
  });

  it('splits partitions between two group members and rebalances when one joins and one leaves', async () => {
    const topic = uniqueTopic('compat.group');
    const groupId = uniqueTopic('compat.group.g');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4 }] });

    type Member = { consumer: Consumer; assignment: number[]; joins: number; got: EachMessagePayload[] };
    const member = (): Member => {
      const m: Member = { consumer: consumer(groupId), assignment: [], joins: 0, got: [] };
      m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
        m.assignment = [...(e.payload.memberAssignment[topic] ?? [])].sort();
        m.joins++;
      });
      return m;
    };
    const start = async (m: Member) => {
      await m.consumer.connect();
      await m.consumer.subscribe({ topic, fromBeginning: true });
      await m.consumer.run({
        eachMessage: async (p) => {
          m.got.push(p);
        },
      });
    };

    const a = member();
    await start(a);
    await waitFor('first member owns all partitions', () => a.assignment.length === 4);
    const aJoinsBefore = a.joins;

    const b = member();
    await start(b);
    await waitFor(
      'rebalance to two members',
      () => a.joins > aJoinsBefore && b.joins > 0 && a.assignment.length + b.assignment.length === 4 && a.assignment.length > 0 && b.assignment.length > 0,
    );
    expect([...a.assignment, ...b.assignment].sort()).toEqual([0, 1, 2, 3]);
    expect(a.assignment.filter((p) => b.assignment.includes(p))).toEqual([]);
    const described = await admin.describeGroups([groupId]);
    expect(described.groups[0]?.state).toBe('Stable');
    expect(described.groups[0]?.members).toHaveLength(2);

    // Both members consume: one message to each partition.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [0, 1, 2, 3].map((partition) => ({ partition, value: `to-${partition}` })),
    });
    await producer.disconnect();
    await waitFor('both members to consume', () => a.got.length + b.got.length >= 4);
    expect(a.got.map((p) => p.partition).sort()).toEqual(a.assignment);
    expect(b.got.map((p) => p.partition).sort()).toEqual(b.assignment);

    // One leaves: the other gets everything back.
    const aJoinsBeforeLeave = a.joins;
    await b.consumer.disconnect();
    await waitFor('rebalance back to one member', () => a.joins > aJoinsBeforeLeave && a.assignment.length === 4);
    await a.consumer.disconnect();
  });

  it('resumes a group after the committed offset', async () => {
    const topic = uniqueTopic('compat.offsets');
    const groupId = uniqueTopic('compat.offsets.g');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `m${i}` })) });

    // First member: read from the start, commit after m4 (next offset 5), then leave.
    const first = consumer(groupId);
    await first.connect();
    await first.subscribe({ topic, fromBeginning: true });
    let committed = false;
    await first.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        if (message.offset === '4' && !committed) {
          await first.commitOffsets([{ topic, partition, offset: '5' }]);
          committed = true;
        }
      },
    });
    await waitFor('commit', () => committed);
    await first.disconnect();

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);

    // Second member of the same group: starts at 5 even though it asks for the beginning
    // (fromBeginning applies only without a committed offset), and sees later messages too.
    const second = consumer(groupId);
    await second.connect();
    await second.subscribe({ topic, fromBeginning: true });
    const seen: { offset: string; value: string }[] = [];
    await second.run({
      eachMessage: async ({ message }) => {
        seen.push({ offset: message.offset, value: message.value!.toString() });
      },
    });
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'm10' }] });
    await producer.disconnect();
    await waitFor('resume', () => seen.length >= 6);
    await second.disconnect();
    expect(seen.map((s) => s.offset)).toEqual(['5', '6', '7', '8', '9', '10']);
    expect(seen.map((s) => s.value)).toEqual(['m5', 'm6', 'm7', 'm8', 'm9', 'm10']);
  });

  it('keeps a tombstone (null value) on a compacted topic, and rejects keyless records there', async () => {
    const topic = uniqueTopic('compat.compacted');
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    });
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'identity:agent-1', value: 'BLOCK' },
        { key: 'identity:agent-2', value: 'BLOCK' },
        { key: 'identity:agent-1', value: null }, // lift the block
      ],
    });

    // Kafka refuses records without a key on a compacted topic.
    const keyless = quietKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await keyless.connect();
    await expect(keyless.send({ topic, acks: -1, messages: [{ value: 'no key' }] })).rejects.toThrow();
    await keyless.disconnect();
    await producer.disconnect();

    const c = consumer(uniqueTopic('compat.compacted.reader'));
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    const seen: { key: string; value: string | null }[] = [];
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push({ key: message.key!.toString(), value: message.value === null ? null : message.value.toString() });
      },
    });
    await waitFor('all three records', () => seen.length >= 3);
    await c.disconnect();

    const agent1 = seen.filter((s) => s.key === 'identity:agent-1').map((s) => s.value);
    expect(agent1).toEqual(['BLOCK', null]);
    expect(seen.filter((s) => s.key === 'identity:agent-2').map((s) => s.value)).toEqual(['BLOCK']);

    // The latest value per key, as a decision view rebuilt from this topic would see it.
    const view = new Map<string, string>();
    for (const s of seen) {
      if (s.value === null) view.delete(s.key);
      else view.set(s.key, s.value);
    }
    expect([...view]).toEqual([['identity:agent-2', 'BLOCK']]);
  });

  it('logged no unexpected kafkajs errors against the 4.x broker', () => {
    // kafkajs logs every error response at ERROR, also the ones the protocol expects and
    // it handles: members told to rejoin during a rebalance, and coordinators or leaders
    // still loading on a broker that has just started or a topic just created (a "Crash:"
    // line carries the error it crashed on, so it is held to the same list). Anything
    // else (UNSUPPORTED_VERSION, a decode error, ...) would be a 4.x incompatibility.
    const expected = [
      /The group is rebalancing/,
      /coordinator is (not available|loading)|not the correct coordinator/i,
      /no leader for this topic-partition/i,
      // kafkajs restarts a consumer after a retriable error; the crash itself is checked above.
      /^Restarting the consumer/,
    ];
    const unexpected = clientLogs
      .filter((l) => l.level === 'ERROR')
      .map((l) => l.message)
      .filter((m) => !expected.some((re) => re.test(m)));
    expect(unexpected).toEqual([]);
  });
});
