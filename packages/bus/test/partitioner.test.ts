import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createPartitioner, murmur2, partitionForKey, toPositive } from '../src/partitioner.js';

// Apache Kafka's UtilsTest.testMurmur2 vectors (Java signed ints), plus the empty array.
const JAVA_VECTORS: Array<[Uint8Array, number]> = [
  [Buffer.from('21'), -973932308],
  [Buffer.from('foobar'), -790332482],
  [Buffer.from('a-little-bit-long-string'), -985981536],
  [Buffer.from('a-little-bit-longer-string'), -1486304829],
  [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
  [Buffer.from([0x61, 0x62, 0x63]), 479470107],
  [Buffer.alloc(0), 275646681],
];

describe('murmur2', () => {
  it('matches the Java client on its UtilsTest vectors', () => {
    for (const [bytes, expected] of JAVA_VECTORS) expect(murmur2(bytes)).toBe(expected);
  });

  it('agrees with kafkajs DefaultPartitioner on every key length remainder and on non-ASCII keys', () => {
    const require = createRequire(import.meta.url);
    const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: string | Buffer) => number;
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'identity:agent-1', 'credential:ci-bot', 'ünïcødé-κλειδί', '🔑'];
    for (let i = 0; i < 200; i++) keys.push(`agent-${i * 7919}`);
    for (const k of keys) {
      expect(murmur2(Buffer.from(k))).toBe(kafkajsMurmur2(k));
    }
  });
});

describe('partitionForKey', () => {
  it('clears the sign bit rather than taking the absolute value', () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
    // "21" hashes negative; Java gives (-973932308 & 0x7fffffff) % 6.
    expect(partitionForKey('21', 6)).toBe((-973932308 & 0x7fffffff) % 6);
    expect(partitionForKey(Buffer.from('21'), 6)).toBe(partitionForKey('21', 6));
  });

  it('round-robins null keys and is stable for keyed records', () => {
    const p = createPartitioner();
    expect([p(null, 3), p(null, 3), p(null, 3), p(null, 3)]).toEqual([0, 1, 2, 0]);
    expect(p('foobar', 50)).toBe((-790332482 & 0x7fffffff) % 50);
    expect(p('foobar', 50)).toBe(p('foobar', 50));
  });
});
