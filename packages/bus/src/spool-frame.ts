import { crc32 } from 'node:zlib';
import type { OutgoingRecord } from './bus.js';

/**
 * One spooled record on disk: [u32 payload length][u32 crc32 of payload][payload], the
 * payload being version, sequence number, timestamp, topic, key, value and headers. The
 * checksum finds a frame torn by a crash so that recovery truncates it instead of
 * delivering garbage.
 */
export interface SpoolEntry {
  seq: number;
  topic: string;
  record: OutgoingRecord;
}

export const FRAME_HEADER = 8;
const VERSION = 1;

export function encodeFrame(e: SpoolEntry): Buffer {
  const topic = Buffer.from(e.topic, 'utf8');
  const key = e.record.key === null ? null : typeof e.record.key === 'string' ? Buffer.from(e.record.key, 'utf8') : e.record.key;
  const value = e.record.value;
  const headers = Object.entries(e.record.headers ?? {}).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  let size = 1 + 8 + 8 + 2 + topic.length + 4 + (key?.length ?? 0) + 4 + (value?.length ?? 0) + 2;
  for (const [k, v] of headers) size += 2 + k.length + 4 + v.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER + size);
  let o = FRAME_HEADER;
  o = buf.writeUInt8(VERSION, o);
  o = buf.writeDoubleBE(e.seq, o);
  o = buf.writeDoubleBE(e.record.timestamp ?? Date.now(), o);
  o = buf.writeUInt16BE(topic.length, o);
  o += topic.copy(buf, o);
  o = buf.writeInt32BE(key === null ? -1 : key.length, o);
  if (key) o += Buffer.from(key).copy(buf, o);
  o = buf.writeInt32BE(value === null ? -1 : value.length, o);
  if (value) o += value.copy(buf, o);
  o = buf.writeUInt16BE(headers.length, o);
  for (const [k, v] of headers) {
    o = buf.writeUInt16BE(k.length, o);
    o += k.copy(buf, o);
    o = buf.writeUInt32BE(v.length, o);
    o += v.copy(buf, o);
  }
  buf.writeUInt32BE(size, 0);
  buf.writeUInt32BE(crc32(buf.subarray(FRAME_HEADER)), 4);
  return buf;
}

export type DecodeResult = { entry: SpoolEntry; size: number } | { incomplete: true; need: number } | { corrupt: true };

/** Decodes the frame at `at`, or says how many bytes it needs, or that it is corrupt. */
export function decodeFrame(buf: Buffer, at: number): DecodeResult {
  if (buf.length - at < FRAME_HEADER) return { incomplete: true, need: FRAME_HEADER };
  const len = buf.readUInt32BE(at);
  if (len < 23 || len > 1 << 30) return { corrupt: true };
  if (buf.length - at < FRAME_HEADER + len) return { incomplete: true, need: FRAME_HEADER + len };
  const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len);
  if (crc32(payload) !== buf.readUInt32BE(at + 4)) return { corrupt: true };
  try {
    let o = 0;
    if (payload.readUInt8(o) !== VERSION) return { corrupt: true };
    o += 1;
    const seq = payload.readDoubleBE(o);
    o += 8;
    const timestamp = payload.readDoubleBE(o);
    o += 8;
    const tl = payload.readUInt16BE(o);
    o += 2;
    const topic = payload.toString('utf8', o, o + tl);
    o += tl;
    const kl = payload.readInt32BE(o);
    o += 4;
    const key = kl < 0 ? null : Buffer.from(payload.subarray(o, o + kl));
    o += Math.max(kl, 0);
    const vl = payload.readInt32BE(o);
    o += 4;
    const value = vl < 0 ? null : Buffer.from(payload.subarray(o, o + vl));
    o += Math.max(vl, 0);
    const hc = payload.readUInt16BE(o);
    o += 2;
    const headers: Record<string, string> = {};
    for (let i = 0; i < hc; i++) {
      const hk = payload.readUInt16BE(o);
      o += 2;
      const k = payload.toString('utf8', o, o + hk);
      o += hk;
      const hv = payload.readUInt32BE(o);
      o += 4;
      headers[k] = payload.toString('utf8', o, o + hv);
      o += hv;
    }
    if (o !== len) return { corrupt: true };
    return { entry: { seq, topic, record: { key, value, headers, timestamp } }, size: FRAME_HEADER + len };
  } catch {
    return { corrupt: true };
  }
}
