/**
 * Kafka's default partitioner: murmur2 of the key bytes, made positive, modulo the
 * partition count. This is what the Java client and kafkajs's DefaultPartitioner do, so
 * a key lands on the same partition whether the embedded bus or a real broker carries
 * it, and whether a Java or a Node producer wrote it.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Java's org.apache.kafka.common.utils.Utils.murmur2, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4] ?? 0) | ((data[i4 + 1] ?? 0) << 8) | ((data[i4 + 2] ?? 0) << 16) | ((data[i4 + 3] ?? 0) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const base = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= (data[base + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[base + 1] ?? 0) << 8;
  if (rest >= 1) {
    h ^= data[base] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

export function keyBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/** The partition of a non-null key. */
export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  return toPositive(murmur2(keyBytes(key))) % partitions;
}

/**
 * A partitioner for one producer: keyed records by murmur2, null keys round robin (as
 * kafkajs's DefaultPartitioner does, with one counter per producer).
 */
export function createPartitioner(): (key: string | Uint8Array | null, partitions: number) => number {
  let counter = 0;
  return (key, partitions) => {
    if (key !== null) return partitionForKey(key, partitions);
    const p = toPositive(counter) % partitions;
    counter = (counter + 1) | 0;
    return p;
  };
}
