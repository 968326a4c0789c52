// decodeEvent (the hand decoder, src/event-decoder.ts) against protobufjs' generated
// AccessEvent.decode: the same value or the same error, for the traffic the detectors see
// and for the corners of the wire format. The random cases are in event-decoder-fuzz.test.ts.
import { describe, expect, it } from 'vitest';
import { decodeAccessEvent, tryDecodeAccessEvent } from '../src/event-decoder.js';
import { decodeEvent, encodeEvent, pb, type AccessEvent, type IAccessEvent } from '../src/index.js';
import protobuf from 'protobufjs';
import { benchTraffic, everyField } from './fixtures/events.js';
import { outcome, outcomeDifference } from './fixtures/same-decode.js';
import { accessEventTree } from './fixtures/schema.js';
import * as w from './fixtures/wire.js';

const protobufjs = (b: Uint8Array) => pb.AccessEvent.decode(b);
const plain = (e: AccessEvent) => pb.AccessEvent.toObject(e, { defaults: true, longs: Number, arrays: true, bytes: Array });

/** decodeEvent and protobufjs agree on these bytes; returns what protobufjs made of them. */
function expectSame(b: Uint8Array): AccessEvent | undefined {
  const expected = outcome(protobufjs, b);
  expect(outcomeDifference(outcome(decodeEvent, b), expected)).toBeUndefined();
  // The fast path alone never disagrees either: it decodes the same, hands over, or throws what protobufjs throws.
  const fast = outcome(tryDecodeAccessEvent, b);
  if (!('value' in fast && fast.value === undefined)) expect(outcomeDifference(fast, expected)).toBeUndefined();
  return 'value' in expected ? (expected.value as AccessEvent) : undefined;
}

/** As expectSame, and the bytes were decoded by the hand decoder, not handed to protobufjs. */
function expectSameFast(b: Uint8Array): AccessEvent {
  const e = expectSame(b);
  expect(e).toBeDefined();
  expect(tryDecodeAccessEvent(b)).toBeDefined();
  expect(plain(decodeEvent(b))).toEqual(plain(e!));
  return e!;
}

/** As expectSame, for bytes the hand decoder leaves to protobufjs. */
function expectHandedOver(b: Uint8Array): void {
  expect(tryDecodeAccessEvent(b)).toBeUndefined();
  expectSame(b);
}

describe('decodeEvent decodes what protobufjs decodes', () => {
  it('the detectors bench traffic, on the fast path', () => {
    for (const e of benchTraffic(4000, 300)) expectSameFast(encodeEvent(e));
  });

  it('every field of every message set', () => {
    const e = expectSameFast(encodeEvent(everyField()));
    expect(e.response?.pii).toHaveLength(2);
    expect(e.configChange?.sections).toHaveLength(2);
  });

  it('an empty message: no own properties, defaults from the prototypes', () => {
    const e = expectSameFast(new Uint8Array(0));
    expect(Object.keys(e)).toEqual([]);
    expect(e).toBeInstanceOf(pb.AccessEvent);
    expect([e.eventId, e.time, e.phase, e.command, e.payloadTruncated]).toEqual(['', 0, 0, null, false]);
  });

  it('nested messages are instances of their generated classes', () => {
    const e = expectSameFast(encodeEvent(everyField()));
    expect(e.identity).toBeInstanceOf(pb.Identity);
    expect(e.response?.pii?.[0]).toBeInstanceOf(pb.PiiCount);
    expect(e.manifest?.env?.[0]).toBeInstanceOf(pb.ManifestEnv);
    expect(e.configChange?.sections?.[0]).toBeInstanceOf(pb.ConfigSection);
    // A message without a repeated field's values still has its own empty array, as protobufjs makes it.
    const bare = expectSameFast(encodeEvent({ command: { fingerprint: 'SELECT 1' } }));
    expect(Object.hasOwn(bare.command!, 'tables')).toBe(true);
    expect(bare.response).toBeNull();
  });

  it('a Buffer input gives Buffer payloads, a Uint8Array at an offset gives Uint8Array views of it', () => {
    const encoded = encodeEvent(everyField());
    expect(Buffer.isBuffer(expectSameFast(encoded).payload)).toBe(true);
    const shifted = new Uint8Array(encoded.length + 7);
    shifted.set(encoded, 7);
    const view = shifted.subarray(7);
    const e = expectSameFast(view);
    expect(Buffer.isBuffer(e.payload)).toBe(false);
    expect(decodeEvent(view).payload.buffer).toBe(shifted.buffer);
  });
});

describe('every field, from the schema', () => {
  /** Two occurrences of a field: a value then the default for a scalar, two values or two messages otherwise. */
  function twice(f: protobuf.Field): [number[], number[]] {
    if (f.resolvedType instanceof protobuf.Type) return [w.message(f.id), w.message(f.id)];
    switch (f.resolvedType instanceof protobuf.Enum ? 'enum' : f.type) {
      case 'string': return [w.str(f.id, 'v1'), w.str(f.id, f.repeated ? 'v2' : '')];
      case 'bytes': return [w.delimited(f.id, [1]), w.delimited(f.id, [])];
      case 'double': return [w.double(f.id, 1.5), w.double(f.id, 0)];
      case 'bool': case 'enum': case 'int32': case 'uint32': case 'int64': case 'uint64': return [w.uint(f.id, 1), w.uint(f.id, 0)];
      default: throw new Error(`no test values for ${f.type} (${f.fullName})`);
    }
  }

  // Each field alone, then twice, inside the messages that lead to it from AccessEvent.
  it.each([...accessEventTree().values()].flatMap(({ type, path }) => type.fieldsArray.map((f) => [`${type.name}.${f.name}`, f, path] as const)))('%s', (_, f, path) => {
    const within = (field: number[]) => w.bytes(path.reduceRight((inner, id) => w.message(id, inner), field));
    const [first, second] = twice(f);
    expectSameFast(within(first));
    expectSameFast(within([...first, ...second]));
  });
});

describe('strings', () => {
  const inEveryKind = (s: string): IAccessEvent => ({
    eventId: s, // not cached
    environment: s, // cached
    identity: { subject: s, groups: [s, s] },
    command: { text: s, fingerprint: s, tables: [s] },
    response: { pii: [{ detector: s, count: 1 }], destination: s },
  });

  it('non-ASCII UTF-8 of 2, 3 and 4 bytes, a BOM, short and long, in cached and uncached fields', () => {
    for (const s of ['zäh', 'naïve', '日本語', '😀', 'a😀b', 'ascii prefix longer than eight then ü', '\uFEFFbom', 'é'.repeat(40), '🙂'.repeat(20), 'ö'.repeat(64)]) {
      const e = expectSameFast(encodeEvent(inEveryKind(s)));
      expect(e.environment).toBe(s);
    }
  });

  it('ASCII at the lengths where the decoder changes strategy', () => {
    for (const n of [1, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 63, 64, 65, 127, 128, 129, 300]) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7) % 94))).join('');
      expect(expectSameFast(encodeEvent(inEveryKind(s))).command?.fingerprint).toBe(s);
    }
  });

  it('lone surrogates: what protobufjs makes of its own encoding of them', () => {
    // protobufjs writes a short string's lone surrogate as is (invalid UTF-8: decoding
    // throws); a long one goes through Node's writer, which substitutes U+FFFD.
    for (const s of ['\uD800', 'abc\uDC00', '\uDE00\uD83D']) {
      for (const e of [{ eventId: s }, { environment: s }, { command: { tables: ['orders', s] } }]) expect(expectSame(encodeEvent(e))).toBeUndefined();
    }
    expect(expectSameFast(encodeEvent({ environment: 'x'.repeat(70) + '\uD83D' })).environment).toBe('x'.repeat(70) + '\uFFFD');
  });

  it('hand-made invalid UTF-8 throws as protobufjs throws', () => {
    const invalid = [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0x61, 0xc3], [0xff]];
    for (const bad of invalid) {
      for (const [field, wrap] of [[1, false], [6, false], [4, true]] as const) {
        const s = w.delimited(field, [...w.utf8('abcdefghij'), ...bad]);
        expect(expectSame(w.bytes(wrap ? w.message(13, s) : s))).toBeUndefined();
      }
    }
  });

  it('repeats of cached strings, and strings that fall in the same cache slot, come back right', () => {
    // Same length and the same first, middle and last four bytes: the cache must compare the rest.
    const a = 'SELECT * FROM refunds WHERE id = $1 LIMIT $2';
    const b = 'SELECT * FROM vendors WHERE id = $1 LIMIT $2';
    for (let i = 0; i < 6; i++) {
      const s = i % 2 ? a : b;
      expect(expectSameFast(encodeEvent({ command: { fingerprint: s } })).command?.fingerprint).toBe(s);
    }
    const first = decodeEvent(encodeEvent({ environment: 'production' }));
    const again = decodeEvent(encodeEvent({ environment: 'production' }));
    expect(again.environment).toBe(first.environment);
  });
});

describe('the wire format corners', () => {
  const head = [w.str(1, 'id-1'), w.uint(5, 1)];

  it('unknown fields of every wire type, at the top and nested, are skipped as protobufjs skips them', () => {
    const unknowns = [w.uint(99, 300), w.fixed64(98, [1, 2, 3, 4, 5, 6, 7, 8]), w.str(97, 'ignored'), w.fixed32(96, 7), w.group(95, w.uint(1, 1), w.group(2, w.str(3, 'x')))];
    for (const u of unknowns) {
      expectHandedOver(w.bytes(...head, u, w.str(6, 'prod')));
      expectHandedOver(w.bytes(...head, w.message(10, w.str(1, 'agent:1'), u, w.str(5, 'idp'))));
      expectHandedOver(w.bytes(w.message(14, w.message(5, w.str(1, 'email'), u, w.uint(2, 3)))));
    }
  });

  it('malformed: stray end group, unmatched group, wire types 6 and 7, field number 0', () => {
    for (const bad of [w.key(5, w.END_GROUP), w.key(95, w.START_GROUP), [...w.key(95, w.START_GROUP), ...w.key(94, w.END_GROUP)], w.key(9, 6), w.key(9, 7), w.uint(0, 1), w.str(0, 'x')]) {
      expectHandedOver(w.bytes(...head, bad));
      expectHandedOver(w.bytes(w.message(11, w.str(1, '10.0.0.1'), bad)));
    }
  });

  it('a known field with another wire type is skipped as unknown, as protobufjs does', () => {
    // A length-delimited (packed-looking) phase, a varint where a string belongs, a fixed32 for a double.
    expectHandedOver(w.bytes(...head, w.delimited(5, [2, 3])));
    expectHandedOver(w.bytes(...head, w.uint(6, 5)));
    expectHandedOver(w.bytes(w.message(14, w.fixed32(3, 1), w.uint(1, 4))));
    // There is no packable repeated field in AccessEvent's tree: every repeated field holds strings or messages.
    expectHandedOver(w.bytes(w.message(13, w.uint(4, 1))));
  });

  it('fields out of order', () => {
    const e = expectSameFast(w.bytes(w.message(14, w.str(7, 'app'), w.uint(1, 5)), w.uint(5, 2), w.str(6, 'prod'), w.message(10, w.str(5, 'idp'), w.str(1, 'agent:1')), w.str(1, 'id-1'), w.uint(4, 1_767_571_200_000)));
    expect(Object.keys(e)).toEqual(['response', 'phase', 'environment', 'identity', 'eventId', 'time']);
  });

  it('repeated fields: values in order, empty strings kept, other fields in between', () => {
    const e = expectSameFast(w.bytes(w.message(10, w.str(3, 'a'), w.str(1, 'agent:1'), w.str(3, ''), w.str(3, 'c')), w.message(13, w.str(4, 'orders'), w.uint(5, 1), w.str(4, 'items'), w.str(8, 'pii')), w.message(14, w.message(5, w.str(1, 'email')), w.str(6, 'email'), w.message(5), w.message(5, w.uint(2, 9)))));
    expect(e.identity?.groups).toEqual(['a', '', 'c']);
    expect(e.response?.pii).toHaveLength(3);
  });

  it('a message field that appears twice is merged into one, as protobufjs merges it', () => {
    const e = expectSameFast(w.bytes(
      w.message(10, w.str(1, 'agent:1'), w.str(3, 'a')),
      w.message(13, w.str(4, 'orders'), w.uint(6, 1)),
      w.str(6, 'prod'),
      w.message(10, w.str(5, 'idp'), w.str(3, 'b'), w.str(1, 'agent:2')),
      w.message(13, w.str(4, 'items'), w.uint(6, 0), w.uint(7, 1)),
      w.message(14, w.message(5, w.str(1, 'email'))),
      w.message(14, w.message(5, w.str(1, 'card')), w.uint(1, 4)),
      w.message(18, w.str(2, 'https://a'), w.message(3, w.str(1, 'A'))),
      w.message(18, w.str(2, 'https://b'), w.message(3, w.str(1, 'B'))),
    ));
    expect(e.identity).toMatchObject({ subject: 'agent:2', issuer: 'idp', groups: ['a', 'b'] });
    expect(e.command?.tables).toEqual(['orders', 'items']);
    expect(Object.hasOwn(e.command!, 'hasWhere')).toBe(false);
    expect(e.response?.pii?.map((p) => p.detector)).toEqual(['email', 'card']);
    expect(e.manifest?.env).toHaveLength(2);
  });

  it('the last value of a scalar wins, and a default value deletes the property', () => {
    const e = expectSameFast(w.bytes(
      w.str(1, 'first'), w.str(1, 'second'),
      w.str(6, 'prod'), w.str(6, ''),
      w.uint(5, 2), w.uint(5, 0),
      w.uint(4, 5), w.uint(4, 0),
      w.uint(17, 1), w.uint(17, 0),
      w.message(14, w.double(3, 4.5), w.double(3, -0), w.str(4, 'E'), w.str(4, '')),
      w.delimited(16, [1, 2]), w.delimited(16, []),
    ));
    expect(e.eventId).toBe('second');
    expect(Object.keys(e)).toEqual(['eventId', 'response']);
    expect(Object.is(e.response?.durationMs, -0)).toBe(true);
    expect(expectSameFast(w.bytes(w.message(14, w.double(3, Number.NaN)))).response?.durationMs).toBeNaN();
  });

  it('over-long and large varints', () => {
    // Over-long tags and lengths the hand decoder reads; values past what it reads go to protobufjs.
    expectSameFast(w.bytes([...w.overlong(10, 2), ...w.varint(2), 0x69, 0x64], [...w.key(6, w.LEN), ...w.overlong(4, 3), ...w.utf8('prod')]));
    expectSameFast(w.bytes([...w.key(5, w.VARINT), ...w.overlong(2, 4)]));
    for (const big of [
      w.uint(4, -1), w.uint(4, -1_767_571_200_123), w.uint(4, 2n ** 49n), w.uint(5, -1), w.uint(5, 2 ** 31),
      [...w.key(5, w.VARINT), ...w.overlong(2, 5)], [...w.overlong(10, 5), 0],
      w.message(11, w.uint(2, 2 ** 32 - 1)), w.message(14, w.uint(1, 2n ** 53n + 1n)), w.message(14, w.uint(2, 2n ** 64n - 1n)),
      w.uint(17, 256), w.uint(17, 2n ** 63n), [...w.key(5, w.VARINT), ...Array<number>(10).fill(0xff), 1],
    ]) {
      expectHandedOver(w.bytes(...head, big));
    }
  });

  it('truncated at every length, and lengths past the end of the message or its parent, throw as protobufjs throws', () => {
    const full = encodeEvent(everyField());
    for (let n = 0; n < full.length; n++) expectSame(full.subarray(0, n));
    expectSame(w.bytes(...head, [...w.key(6, w.LEN), 50, ...w.utf8('short')]));
    // Identity says 3 bytes; its subject says 7.
    expectSame(w.bytes([...w.key(10, w.LEN), 3, ...w.str(1, 'agent:1')]));
    expectSame(w.bytes(w.message(14, [...w.key(3, w.FIXED64), 1, 2, 3])));
  });

  it('enum values the schema does not name stay numbers', () => {
    expect(expectSameFast(w.bytes(w.uint(5, 99), w.message(12, w.uint(2, 42)))).phase).toBe(99);
  });

  it('decodeAccessEvent is what decodeEvent calls', () => {
    const b = encodeEvent(everyField());
    expect(outcomeDifference(outcome(decodeAccessEvent, b), outcome(protobufjs, b))).toBeUndefined();
  });
});
