import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let seq = 0;

// Ids are minted several times per command on the gateway's hot path; one
// randomFillSync per id showed up in profiles, so random bytes come from a pool
// refilled 4 KiB at a time.
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomSlice(n: number): Buffer {
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

/**
 * UUIDv7 (RFC 9562): 48-bit ms timestamp, then random bits, so ids sort by creation
 * time. A 12-bit counter in rand_a keeps ids monotonic within one millisecond.
 */
export function uuidv7(now: number = Date.now()): string {
  const r = randomSlice(10);
  if (now === lastMs) {
    seq = (seq + 1) & 0xfff;
  } else {
    lastMs = now;
    seq = (r[0]! << 8 | r[1]!) & 0x7ff;
  }
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  r.copy(b, 8, 2, 10);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
