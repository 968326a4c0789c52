// Protobuf string bytes → JS strings, for the hand-written event decoder (event-decoder.ts).
// Nearly every string on portcullis.events is ASCII, and many repeat record after record
// (environment, gateway, connection, table names, fingerprints), so:
//  - ASCII bytes become a string without a UTF-8 decoder, and a flat one (protobufjs
//    concatenates 8-char pieces into ropes that the first Map lookup must flatten);
//  - anything else goes to protobufjs' own strict decoder, so what is accepted, rejected
//    (thrown) and returned is by definition what AccessEvent.decode does;
//  - repeating strings come from a bounded cache keyed by their bytes: no allocation, no
//    garbage, and the string's hash stays computed for the detectors' Map lookups. The
//    decoder asks for it only for fields with few values: per-agent values (subject,
//    credential, origin) cost more to look up than they save once agents number in the
//    thousands, and ids never repeat.
import $protobuf from 'protobufjs/minimal.js';

const readStrict = $protobuf.util.utf8.readStrict;

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;
// Node's native one-byte slice; it is not in @types/node. Only ever given ASCII bytes here.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice;

const fromCharCode = String.fromCharCode;

// One call with every char as an argument makes one flat string; a loop of `+=` would make
// one string per char, and the call into C++ (latin1Slice) costs more than this below 17
// chars (bench/event-decode.mjs, and a micro-benchmark of the two).
function asciiString(b: Uint8Array, s: number, end: number): string {
  switch (end - s) {
    case 0: return '';
    case 1: return fromCharCode(b[s]!);
    case 2: return fromCharCode(b[s]!, b[s + 1]!);
    case 3: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    case 9: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!);
    case 10: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!);
    case 11: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!);
    case 12: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!);
    case 13: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!);
    case 14: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!);
    case 15: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!);
    case 16: return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!, b[s + 8]!, b[s + 9]!, b[s + 10]!, b[s + 11]!, b[s + 12]!, b[s + 13]!, b[s + 14]!, b[s + 15]!);
    default: return latin1Slice !== undefined ? latin1Slice.call(b, s, end) : readStrict(b, s, end);
  }
}

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  let high = 0;
  for (let i = start; i < end; i++) high |= buf[i]!;
  return high < 0x80;
}

/** The string field at buf[start, end), exactly as protobufjs' `stringVerify` reads it (throws on invalid UTF-8). */
export function readString(buf: Uint8Array, start: number, end: number): string {
  return isAscii(buf, start, end) ? asciiString(buf, start, end) : readStrict(buf, start, end);
}

// Little-endian 4 bytes. A DataView would read them in one load, but making one per record
// costs more than it saves.
function word(buf: Uint8Array, i: number): number {
  return buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
}

// Direct-mapped: a slot holds the last string that hashed to it and its bytes as words, so
// memory is fixed (SLOTS × MAX_INTERNED bytes plus at most SLOTS strings) and there is no
// eviction bookkeeping; a collision only costs a fresh string, as without the cache.
const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;
const MAX_INTERNED = 128;
const WORDS = MAX_INTERNED / 4;
const cachedStrings: string[] = new Array<string>(SLOTS).fill('');
const cachedLengths = new Int32Array(SLOTS);
// Per slot: the words at byte 0, 4, 8 … below len - 4, then the last (maybe overlapping) word.
const cachedWords = new Int32Array(SLOTS * WORDS);

/** readString for low-cardinality fields: a repeat of recently seen ASCII bytes returns the same string instance. */
export function readInterned(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len < 4 || len > MAX_INTERNED) return readString(buf, start, end);
  // The slot comes from the length and three words; the comparison then covers every byte.
  const first = word(buf, start);
  const middle = word(buf, start + ((len >> 1) & ~3));
  const last = word(buf, end - 4);
  const slot = Math.imul(Math.imul(Math.imul(len ^ first, 0x9e3779b1) ^ middle, 0x85ebca6b) ^ last, 0xc2b2ae35) >>> (32 - SLOT_BITS);
  const at = slot * WORDS;
  const tail = (len - 1) >> 2; // index of the last word
  if (cachedLengths[slot] === len && cachedWords[at] === first && cachedWords[at + tail] === last) {
    let k = 1;
    while (k < tail && cachedWords[at + k] === word(buf, start + 4 * k)) k++;
    if (k >= tail) return cachedStrings[slot]!;
  }
  if (!isAscii(buf, start, end)) return readStrict(buf, start, end);
  const s = asciiString(buf, start, end);
  cachedStrings[slot] = s;
  cachedLengths[slot] = len;
  for (let k = 0; k < tail; k++) cachedWords[at + k] = word(buf, start + 4 * k);
  cachedWords[at + tail] = last;
  return s;
}
