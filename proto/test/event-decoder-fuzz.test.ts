// Seeded random bytes against decodeEvent and protobufjs' AccessEvent.decode: valid events
// with random fields, those encodings mutated and truncated, and plain noise. Every case
// must come out the same (value or error); the tallies show the cases reached both the
// hand decoder's own results and its hand-overs, so the test cannot pass vacuously.
import { describe, expect, it } from 'vitest';
import { tryDecodeAccessEvent } from '../src/event-decoder.js';
import { decodeEvent, encodeEvent, pb } from '../src/index.js';
import { benchTraffic, everyField, randomEvent, seeded } from './fixtures/events.js';
import { outcome, outcomeDifference } from './fixtures/same-decode.js';

const CASES = 200_000;

function mutate(src: Uint8Array, rand: () => number): Uint8Array {
  const b = Array.from(src);
  const at = () => Math.floor(rand() * (b.length + 1));
  const edits = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < edits; i++) {
    switch (Math.floor(rand() * 7)) {
      case 0: { const j = at(); if (j < b.length) b[j] = Math.floor(rand() * 256); break; }
      case 1: { const j = at(); if (j < b.length) b[j]! ^= 1 << Math.floor(rand() * 8); break; }
      case 2: b.splice(at(), 0, Math.floor(rand() * 256)); break;
      case 3: b.splice(at(), 1 + Math.floor(rand() * 4)); break;
      case 4: b.length = at(); break;
      case 5: { const j = at(); const n = Math.floor(rand() * 16); b.splice(at(), 0, ...b.slice(j, j + n)); break; }
      default: { const j = at(); if (j < b.length) b[j] = [0x00, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x52][Math.floor(rand() * 8)]!; }
    }
  }
  return Buffer.from(b);
}

describe('decodeEvent against protobufjs on random bytes', () => {
  it(`${CASES} seeded cases: the same value or the same error`, () => {
    const rand = seeded(20260105);
    const corpus = [...benchTraffic(200, 50, rand), everyField(), ...Array.from({ length: 300 }, () => randomEvent(rand))].map((e) => encodeEvent(e));
    const tally = { fast: 0, handedOver: 0, bothThrew: 0, fastRejected: 0 };
    const failures: string[] = [];
    for (let i = 0; i < CASES && failures.length < 5; i++) {
      const kind = rand();
      let b: Uint8Array;
      if (kind < 0.15) b = encodeEvent(randomEvent(rand));
      else if (kind < 0.9) b = mutate(corpus[Math.floor(rand() * corpus.length)]!, rand);
      else b = Buffer.from(Array.from({ length: Math.floor(rand() * 48) }, () => Math.floor(rand() * 256)));
      const expected = outcome((x) => pb.AccessEvent.decode(x), b);
      const diff = outcomeDifference(outcome(decodeEvent, b), expected);
      const fast = outcome(tryDecodeAccessEvent, b);
      const fastDiff = 'value' in fast && fast.value === undefined ? undefined : outcomeDifference(fast, expected);
      if (diff ?? fastDiff) failures.push(`case ${i} (${Buffer.from(b).toString('hex')}): ${diff ?? `fast path: ${fastDiff}`}`);
      if ('error' in expected) tally.bothThrew++;
      if ('value' in fast && fast.value !== undefined) tally.fast++;
      else if ('error' in fast) tally.fastRejected++;
      else tally.handedOver++;
    }
    expect(failures).toEqual([]);
    // Coverage of the outcomes, not a property of the decoder: each kind must be well represented.
    expect(tally.fast).toBeGreaterThan(CASES * 0.1);
    expect(tally.handedOver).toBeGreaterThan(CASES * 0.1);
    expect(tally.bothThrew).toBeGreaterThan(CASES * 0.1);
    expect(tally.fastRejected).toBeGreaterThan(100);
  }, 120_000);
});
