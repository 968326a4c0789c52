// A hand-written decoder for AccessEvent, the one message the detectors decode per record.
// protobufjs' generated decode pays for a Reader object, a method call per varint, Long
// bits for every int64 and a UTF-8 decoder for strings that are nearly all short ASCII;
// this reads the bytes directly and builds the same generated classes.
//
// It is a fast path, not a second implementation of protobuf: it accepts only what it can
// decode exactly as protobufjs does — known field numbers with their declared wire type,
// varints no longer than the values we carry need, lengths within the enclosing message —
// and on anything else (unknown or misplaced fields, groups, long varints, truncation,
// invalid UTF-8) it gives up and the whole record is decoded again by AccessEvent.decode,
// which returns what it returns or throws what it throws. So the result for any bytes is
// protobufjs' result; only the common records are faster. A field added to the schema and
// not here would send every record down the slow path: HANDLED_FIELDS lists what is
// handled, and proto/test/event-decoder-schema.test.ts fails when the schema has more.
//
// Field by field it mirrors the generated decode (proto/gen/portcullis.js): a scalar equal
// to its default deletes the own property (the prototype supplies the default), the last
// occurrence wins, a repeated field appends, a message field seen twice merges into the
// first instance. Case labels are whole tags, (field number << 3) | wire type, so a known
// field with another wire type falls to `default` like an unknown one.
import './numbers.js';
import { portcullis } from '../gen/portcullis.js';
import { readInterned, readString } from './wire-strings.js';

const v1 = portcullis.v1;
type Identity = portcullis.v1.Identity;
type Origin = portcullis.v1.Origin;
type Connection = portcullis.v1.Connection;
type Command = portcullis.v1.Command;
type PiiCount = portcullis.v1.PiiCount;
type Response = portcullis.v1.Response;
type Verdict = portcullis.v1.Verdict;
type ManifestEnv = portcullis.v1.ManifestEnv;
type AgentManifest = portcullis.v1.AgentManifest;
type ConfigSection = portcullis.v1.ConfigSection;
type ConfigChange = portcullis.v1.ConfigChange;
type AccessEvent = portcullis.v1.AccessEvent;

/**
 * What is decoded here, per message of AccessEvent's tree: field number → type as the
 * .proto declares it ('enum' for any enum, 'repeated ' in front when repeated). A test
 * compares it with the schema, so a field added or changed there fails until this file
 * handles it.
 */
export const HANDLED_FIELDS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  AccessEvent: {
    1: 'string', 2: 'string', 3: 'string', 4: 'int64', 5: 'enum', 6: 'string', 7: 'string',
    10: 'Identity', 11: 'Origin', 12: 'Connection', 13: 'Command', 14: 'Response', 15: 'Verdict',
    16: 'bytes', 17: 'bool', 18: 'AgentManifest', 19: 'ConfigChange',
  },
  Identity: { 1: 'string', 2: 'enum', 3: 'repeated string', 4: 'string', 5: 'string', 6: 'string' },
  Origin: { 1: 'string', 2: 'uint32', 3: 'string', 4: 'string', 5: 'string', 6: 'string', 7: 'string' },
  Connection: { 1: 'string', 2: 'enum', 3: 'string', 4: 'string' },
  Command: { 1: 'string', 2: 'string', 3: 'string', 4: 'repeated string', 5: 'bool', 6: 'bool', 7: 'bool', 8: 'repeated string' },
  PiiCount: { 1: 'string', 2: 'uint32' },
  Response: { 1: 'uint64', 2: 'uint64', 3: 'double', 4: 'string', 5: 'repeated PiiCount', 6: 'repeated string', 7: 'string' },
  Verdict: { 1: 'enum', 2: 'string', 3: 'string', 4: 'string', 5: 'string', 6: 'string' },
  ManifestEnv: { 1: 'string', 2: 'string', 3: 'bool' },
  AgentManifest: { 1: 'string', 2: 'repeated string', 3: 'repeated ManifestEnv', 4: 'int64', 5: 'string' },
  ConfigSection: { 1: 'string', 2: 'string' },
  ConfigChange: { 1: 'string', 2: 'string', 3: 'string', 4: 'repeated string', 5: 'repeated ConfigSection' },
};

// Thrown to leave the fast path. One instance: throwing it captures no stack.
const LEAVE = new Error('AccessEvent bytes outside the hand decoder');

// The record being decoded. Module state rather than a reader object: a decode is
// synchronous, so one runs at a time, and nothing is allocated for it.
const EMPTY = new Uint8Array(0);
let buf: Uint8Array = EMPTY;
let pos = 0;

/** A varint of at most 4 bytes (< 2^28): tags, lengths, enums, uint32 counts and ports. */
function varint(end: number): number {
  // Nearly all are one byte; a small function is one V8 inlines at every call.
  if (pos < end) {
    const b = buf[pos]!;
    if (b < 0x80) {
      pos++;
      return b;
    }
  }
  return longerVarint(end);
}

function longerVarint(end: number): number {
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw LEAVE;
    const b = buf[pos++]!;
    v |= (b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  throw LEAVE;
}

/** An int64/uint64 varint of at most 7 bytes (< 2^49, so no sign bit): times in ms, row and byte counts. */
function long(end: number): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= end) throw LEAVE;
    const b = buf[pos++]!;
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v;
    scale *= 0x80;
  }
  throw LEAVE;
}

function bool(end: number): boolean {
  if (pos >= end) throw LEAVE;
  const b = buf[pos++]!;
  if (b >= 0x80) throw LEAVE;
  return b !== 0;
}

const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function double(end: number): number {
  if (!littleEndian || end - pos < 8) throw LEAVE;
  for (let i = 0; i < 8; i++) float64Bytes[i] = buf[pos + i]!;
  pos += 8;
  return float64[0]!;
}

/** Reads a length prefix; returns where the delimited bytes end. */
function delimited(end: number): number {
  const n = varint(end);
  if (n > end - pos) throw LEAVE;
  return pos + n;
}

/** A string field with too many values to cache: ids, command text, per-agent values (wire-strings.ts). */
function string(end: number): string {
  const stop = delimited(end);
  const start = pos;
  pos = stop;
  return readString(buf, start, stop);
}

/** A string field with few distinct values (environment, table names, fingerprints …). */
function interned(end: number): string {
  const stop = delimited(end);
  const start = pos;
  pos = stop;
  return readInterned(buf, start, stop);
}

// The generated constructors start repeated fields as []; the first value replaces that
// with a one-element array rather than growing it (a push onto [] makes room for 16).
// Same contents, same own property; protobufjs too replaces the empty array.
function appended<T>(list: T[] | undefined, value: T): T[] {
  if (list === undefined || list.length === 0) return [value];
  list.push(value);
  return list;
}

// The generated classes declare their scalars as required; decoding deletes them.
type Draft<T> = { -readonly [K in keyof T]?: T[K] };
// A message field's current value: null (the prototype's) or the instance to merge into.
type Into<T> = Draft<T> | null | undefined;

function identity(end: number, into: Into<Identity>): Draft<Identity> {
  const m = into ?? new v1.Identity();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = string(end); if (v.length) m.subject = v; else delete m.subject; continue; }
      case 16: { const v = varint(end); if (v) m.kind = v; else delete m.kind; continue; }
      case 26: m.groups = appended(m.groups, interned(end)); continue;
      case 34: { const v = string(end); if (v.length) m.credentialId = v; else delete m.credentialId; continue; }
      case 42: { const v = interned(end); if (v.length) m.issuer = v; else delete m.issuer; continue; }
      case 50: { const v = string(end); if (v.length) m.onBehalfOf = v; else delete m.onBehalfOf; continue; }
      default: throw LEAVE;
    }
  }
  return m;
}

function origin(end: number, into: Into<Origin>): Draft<Origin> {
  const m = into ?? new v1.Origin();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = string(end); if (v.length) m.peerIp = v; else delete m.peerIp; continue; }
      case 16: { const v = varint(end); if (v) m.peerPort = v; else delete m.peerPort; continue; }
      case 26: { const v = string(end); if (v.length) m.declaredHost = v; else delete m.declaredHost; continue; }
      case 34: { const v = string(end); if (v.length) m.containerId = v; else delete m.containerId; continue; }
      case 42: { const v = interned(end); if (v.length) m.process = v; else delete m.process; continue; }
      case 50: { const v = interned(end); if (v.length) m.userAgent = v; else delete m.userAgent; continue; }
      case 58: { const v = interned(end); if (v.length) m.agentConfigHash = v; else delete m.agentConfigHash; continue; }
      default: throw LEAVE;
    }
  }
  return m;
}

function connection(end: number, into: Into<Connection>): Draft<Connection> {
  const m = into ?? new v1.Connection();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = interned(end); if (v.length) m.name = v; else delete m.name; continue; }
      case 16: { const v = varint(end); if (v) m.kind = v; else delete m.kind; continue; }
      case 26: { const v = interned(end); if (v.length) m.targetHost = v; else delete m.targetHost; continue; }
      case 34: { const v = interned(end); if (v.length) m.targetDb = v; else delete m.targetDb; continue; }
      default: throw LEAVE;
    }
  }
  return m;
}

function command(end: number, into: Into<Command>): Draft<Command> {
  const m = into ?? new v1.Command();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = string(end); if (v.length) m.text = v; else delete m.text; continue; }
      case 18: { const v = interned(end); if (v.length) m.fingerprint = v; else delete m.fingerprint; continue; }
      case 26: { const v = interned(end); if (v.length) m.statementType = v; else delete m.statementType; continue; }
      case 34: m.tables = appended(m.tables, interned(end)); continue;
      case 40: { const v = bool(end); if (v) m.isWrite = v; else delete m.isWrite; continue; }
      case 48: { const v = bool(end); if (v) m.hasWhere = v; else delete m.hasWhere; continue; }
      case 56: { const v = bool(end); if (v) m.hasLimit = v; else delete m.hasLimit; continue; }
      case 66: m.riskTags = appended(m.riskTags, interned(end)); continue;
      default: throw LEAVE;
    }
  }
  return m;
}

function piiCount(end: number): PiiCount {
  const m: Draft<PiiCount> = new v1.PiiCount();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = interned(end); if (v.length) m.detector = v; else delete m.detector; continue; }
      case 16: { const v = varint(end); if (v) m.count = v; else delete m.count; continue; }
      default: throw LEAVE;
    }
  }
  return m as PiiCount;
}

function response(end: number, into: Into<Response>): Draft<Response> {
  const m = into ?? new v1.Response();
  while (pos < end) {
    switch (varint(end)) {
      case 8: { const v = long(end); if (v !== 0) m.rows = v; else delete m.rows; continue; }
      case 16: { const v = long(end); if (v !== 0) m.bytes = v; else delete m.bytes; continue; }
      case 25: { const v = double(end); if (!Object.is(v, 0)) m.durationMs = v; else delete m.durationMs; continue; }
      case 34: { const v = interned(end); if (v.length) m.errorCode = v; else delete m.errorCode; continue; }
      // A repeated message never merges: each occurrence is a new element.
      case 42: m.pii = appended(m.pii, piiCount(delimited(end))); continue;
      case 50: m.maskedFields = appended(m.maskedFields, interned(end)); continue;
      case 58: { const v = interned(end); if (v.length) m.destination = v; else delete m.destination; continue; }
      default: throw LEAVE;
    }
  }
  return m;
}

function verdict(end: number, into: Into<Verdict>): Draft<Verdict> {
  const m = into ?? new v1.Verdict();
  while (pos < end) {
    switch (varint(end)) {
      case 8: { const v = varint(end); if (v) m.action = v; else delete m.action; continue; }
      case 18: { const v = interned(end); if (v.length) m.ruleId = v; else delete m.ruleId; continue; }
      case 26: { const v = string(end); if (v.length) m.reason = v; else delete m.reason; continue; }
      case 34: { const v = string(end); if (v.length) m.approvalId = v; else delete m.approvalId; continue; }
      case 42: { const v = string(end); if (v.length) m.decisionId = v; else delete m.decisionId; continue; }
      case 50: { const v = interned(end); if (v.length) m.code = v; else delete m.code; continue; }
      default: throw LEAVE;
    }
  }
  return m;
}

function manifestEnv(end: number): ManifestEnv {
  const m: Draft<ManifestEnv> = new v1.ManifestEnv();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = interned(end); if (v.length) m.name = v; else delete m.name; continue; }
      case 18: { const v = string(end); if (v.length) m.valueSha256 = v; else delete m.valueSha256; continue; }
      case 24: { const v = bool(end); if (v) m.secretBearing = v; else delete m.secretBearing; continue; }
      default: throw LEAVE;
    }
  }
  return m as ManifestEnv;
}

function agentManifest(end: number, into: Into<AgentManifest>): Draft<AgentManifest> {
  const m = into ?? new v1.AgentManifest();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = interned(end); if (v.length) m.agentConfigHash = v; else delete m.agentConfigHash; continue; }
      case 18: m.endpoints = appended(m.endpoints, interned(end)); continue;
      case 26: m.env = appended(m.env, manifestEnv(delimited(end))); continue;
      case 32: { const v = long(end); if (v !== 0) m.reportedAt = v; else delete m.reportedAt; continue; }
      case 42: { const v = string(end); if (v.length) m.sessionId = v; else delete m.sessionId; continue; }
      default: throw LEAVE;
    }
  }
  return m;
}

function configSection(end: number): ConfigSection {
  const m: Draft<ConfigSection> = new v1.ConfigSection();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = interned(end); if (v.length) m.name = v; else delete m.name; continue; }
      case 18: { const v = string(end); if (v.length) m.digest = v; else delete m.digest; continue; }
      default: throw LEAVE;
    }
  }
  return m as ConfigSection;
}

function configChange(end: number, into: Into<ConfigChange>): Draft<ConfigChange> {
  const m = into ?? new v1.ConfigChange();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = interned(end); if (v.length) m.gatewayId = v; else delete m.gatewayId; continue; }
      case 18: { const v = string(end); if (v.length) m.oldDigest = v; else delete m.oldDigest; continue; }
      case 26: { const v = string(end); if (v.length) m.newDigest = v; else delete m.newDigest; continue; }
      case 34: m.changed = appended(m.changed, interned(end)); continue;
      case 42: m.sections = appended(m.sections, configSection(delimited(end))); continue;
      default: throw LEAVE;
    }
  }
  return m;
}

// A nested message is read up to its own end (delimited() checks it fits in the parent),
// so a field running past it leaves the fast path, where protobufjs throws.
function accessEvent(end: number): AccessEvent {
  const m: Draft<AccessEvent> = new v1.AccessEvent();
  while (pos < end) {
    switch (varint(end)) {
      case 10: { const v = string(end); if (v.length) m.eventId = v; else delete m.eventId; continue; }
      case 18: { const v = string(end); if (v.length) m.requestId = v; else delete m.requestId; continue; }
      case 26: { const v = string(end); if (v.length) m.sessionId = v; else delete m.sessionId; continue; }
      case 32: { const v = long(end); if (v !== 0) m.time = v; else delete m.time; continue; }
      case 40: { const v = varint(end); if (v) m.phase = v; else delete m.phase; continue; }
      case 50: { const v = interned(end); if (v.length) m.environment = v; else delete m.environment; continue; }
      case 58: { const v = interned(end); if (v.length) m.gatewayId = v; else delete m.gatewayId; continue; }
      case 82: m.identity = identity(delimited(end), m.identity as Into<Identity>); continue;
      case 90: m.origin = origin(delimited(end), m.origin as Into<Origin>); continue;
      case 98: m.connection = connection(delimited(end), m.connection as Into<Connection>); continue;
      case 106: m.command = command(delimited(end), m.command as Into<Command>); continue;
      case 114: m.response = response(delimited(end), m.response as Into<Response>); continue;
      case 122: m.verdict = verdict(delimited(end), m.verdict as Into<Verdict>); continue;
      case 130: {
        const stop = delimited(end);
        // A view, not a copy, as protobufjs' reader returns (a Buffer for a Buffer).
        const v = buf.subarray(pos, stop);
        pos = stop;
        if (v.length) m.payload = v;
        else delete m.payload;
        continue;
      }
      case 136: { const v = bool(end); if (v) m.payloadTruncated = v; else delete m.payloadTruncated; continue; }
      case 146: m.manifest = agentManifest(delimited(end), m.manifest as Into<AgentManifest>); continue;
      case 154: m.configChange = configChange(delimited(end), m.configChange as Into<ConfigChange>); continue;
      default: throw LEAVE;
    }
  }
  return m as AccessEvent;
}

function decodeFast(b: Uint8Array): AccessEvent {
  buf = b;
  pos = 0;
  try {
    return accessEvent(b.length);
  } finally {
    buf = EMPTY; // do not keep the last record alive
  }
}

/** The fast path alone: the decoded event, or undefined where it hands over to protobufjs. For tests. */
export function tryDecodeAccessEvent(b: Uint8Array): AccessEvent | undefined {
  try {
    return decodeFast(b);
  } catch (err) {
    if (err === LEAVE) return undefined;
    throw err;
  }
}

/** Same result as `portcullis.v1.AccessEvent.decode(b)` for any bytes, including what it throws. */
export function decodeAccessEvent(b: Uint8Array): AccessEvent {
  try {
    return decodeFast(b);
  } catch {
    // LEAVE, or invalid UTF-8 from the strict decoder: protobufjs decides.
    return v1.AccessEvent.decode(b);
  }
}
