import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@portcullis/common';
import { decodeFrame, encodeFrame, FRAME_HEADER, type SpoolEntry } from './spool-frame.js';

export interface SpoolPosition {
  seg: number;
  pos: number;
}

const SEGMENT_SUFFIX = '.seg';
const CURSOR_FILE = 'cursor.json';
/** Segment ids start high so that a head segment can be put in front of the first one. */
const FIRST_SEGMENT = 1_000_000_000_000;
const WRITE_BUFFER_BYTES = 256 << 10;
const WRITE_DELAY_MS = 20;
const SYNC_DELAY_MS = 1_000;
const READ_CHUNK = 4 << 20;

const segName = (id: number): string => `${String(id).padStart(16, '0')}${SEGMENT_SUFFIX}`;

/**
 * A bounded-by-its-owner, append-only queue of records in segment files. Appends are
 * buffered for a few milliseconds and written in one go; segments are fdatasync'ed within
 * a second, when they roll and on close, so a process crash loses at most the write
 * buffer and a power loss at most a second. A cursor file says how far delivery got;
 * delivered segments are deleted. Reopening scans the segments, truncates a torn tail and
 * resumes from the cursor (at-least-once: a record delivered after the last cursor write
 * is delivered again).
 */
export class DiskSpool {
  records = 0;
  bytes = 0;
  maxSeq = 0;
  private segments: number[] = [];
  private readonly sizes = new Map<number, number>();
  private cursor: SpoolPosition | undefined;
  private writeFd: number | undefined;
  private writeSeg: number | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private unsynced = false;
  private writeTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private nextId = FIRST_SEGMENT;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly logger: Logger,
  ) {}

  static open(dir: string, segmentBytes: number, logger: Logger): DiskSpool {
    mkdirSync(dir, { recursive: true });
    const s = new DiskSpool(dir, segmentBytes, logger);
    s.recover();
    return s;
  }

  private recover(): void {
    const ids = readdirSync(this.dir)
      .filter((f) => f.endsWith(SEGMENT_SUFFIX))
      .map((f) => Number(f.slice(0, -SEGMENT_SUFFIX.length)))
      .filter((n) => Number.isSafeInteger(n))
      .sort((a, b) => a - b);
    let cursor = this.readCursor();
    if (!cursor || !ids.includes(cursor.seg)) cursor = { seg: ids.find((id) => id >= (cursor?.seg ?? 0)) ?? ids[0] ?? FIRST_SEGMENT, pos: 0 };
    for (const id of ids) {
      if (id < cursor.seg) {
        rmSync(join(this.dir, segName(id)), { force: true });
        continue;
      }
      const path = join(this.dir, segName(id));
      const buf = readFileSync(path);
      let at = 0;
      for (;;) {
        const r = decodeFrame(buf, at);
        if (!('entry' in r)) break;
        if (id !== cursor.seg || at >= cursor.pos) {
          this.records++;
          this.bytes += r.size;
          this.maxSeq = Math.max(this.maxSeq, r.entry.seq);
        }
        at += r.size;
      }
      if (at < buf.length) {
        this.logger.warn({ segment: segName(id), lostBytes: buf.length - at }, 'spool segment has a torn or corrupt tail (crash during a write); truncating it');
        const fd = openSync(path, 'r+');
        ftruncateSync(fd, at);
        closeSync(fd);
      }
      if (id === cursor.seg && cursor.pos > at) cursor = { seg: id, pos: at };
      this.segments.push(id);
      this.sizes.set(id, at);
    }
    const last = this.segments[this.segments.length - 1];
    this.nextId = last === undefined ? FIRST_SEGMENT : last + 1;
    if (this.records === 0) {
      this.reset();
      return;
    }
    this.cursor = cursor;
    if (last !== undefined) {
      this.writeSeg = last;
      this.writeFd = openSync(join(this.dir, segName(last)), 'a');
    }
  }

  append(entry: SpoolEntry): number {
    const frame = encodeFrame(entry);
    if (this.writeFd === undefined || (this.sizes.get(this.writeSeg ?? -1) ?? 0) >= this.segmentBytes) this.roll();
    const seg = this.writeSeg ?? FIRST_SEGMENT;
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    this.sizes.set(seg, (this.sizes.get(seg) ?? 0) + frame.length);
    this.records++;
    this.bytes += frame.length;
    this.maxSeq = Math.max(this.maxSeq, entry.seq);
    if (this.pendingBytes >= WRITE_BUFFER_BYTES) this.flushWrites();
    else this.writeTimer ??= setTimeout(() => this.flushWritesSafely(), WRITE_DELAY_MS).unref();
    return frame.length;
  }

  /**
   * Puts entries in front of everything spooled, in a new head segment (written and
   * synced at once). Only valid while nothing of the spool has been delivered yet; the
   * publisher guarantees that (memory records are older than disk records only before the
   * spool starts draining).
   */
  prepend(entries: readonly SpoolEntry[]): void {
    if (entries.length === 0) return;
    const first = this.segments[0];
    if (this.records === 0 || first === undefined || !this.cursor || this.cursor.seg !== first || this.cursor.pos !== 0) {
      if (this.records > 0) this.logger.error('spool prepend after draining started; appending instead (per-key order may break)');
      for (const e of entries) this.append(e);
      return;
    }
    const frames = entries.map(encodeFrame);
    const buf = Buffer.concat(frames);
    const id = first - 1;
    const fd = openSync(join(this.dir, segName(id)), 'w');
    try {
      writeSync(fd, buf);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.segments.unshift(id);
    this.sizes.set(id, buf.length);
    this.records += entries.length;
    this.bytes += buf.length;
    for (const e of entries) this.maxSeq = Math.max(this.maxSeq, e.seq);
    this.cursor = { seg: id, pos: 0 };
    this.writeCursor();
  }

  /** Up to `max` entries from the cursor on, and where they end; does not move the cursor. */
  read(max: number): { entries: Array<SpoolEntry & { size: number }>; end: SpoolPosition } {
    this.flushWrites();
    const entries: Array<SpoolEntry & { size: number }> = [];
    let at: SpoolPosition = this.cursor ? { ...this.cursor } : { seg: FIRST_SEGMENT, pos: 0 };
    if (this.records === 0) return { entries, end: at };
    let idx = this.segments.indexOf(at.seg);
    while (entries.length < max && idx >= 0 && idx < this.segments.length) {
      const size = this.sizes.get(at.seg) ?? 0;
      if (at.pos >= size) {
        const next = this.segments[idx + 1];
        if (next === undefined) break;
        idx++;
        at = { seg: next, pos: 0 };
        continue;
      }
      let buf = this.readAt(at.seg, at.pos, Math.min(size - at.pos, READ_CHUNK));
      let o = 0;
      while (entries.length < max && o < buf.length) {
        const r = decodeFrame(buf, o);
        if ('entry' in r) {
          entries.push({ ...r.entry, size: r.size });
          o += r.size;
        } else if ('incomplete' in r && o === 0 && r.need > buf.length && r.need <= size - at.pos) {
          buf = this.readAt(at.seg, at.pos, r.need); // one frame larger than a chunk
        } else if ('incomplete' in r) {
          break;
        } else {
          this.logger.error({ segment: segName(at.seg), pos: at.pos + o }, 'corrupt frame in spool; skipping the rest of the segment');
          this.sizes.set(at.seg, at.pos + o);
          break;
        }
      }
      at = { seg: at.seg, pos: at.pos + o };
      if (o === 0 && at.pos < (this.sizes.get(at.seg) ?? 0)) break;
    }
    return { entries, end: at };
  }

  /** Marks everything before `to` delivered: `count` records of `bytes` bytes. */
  advance(to: SpoolPosition, count: number, bytes: number): void {
    this.records -= count;
    this.bytes -= bytes;
    if (this.records <= 0) {
      this.reset();
      return;
    }
    while (this.segments.length > 0 && (this.segments[0] ?? Infinity) < to.seg) {
      const id = this.segments.shift() ?? 0;
      this.sizes.delete(id);
      rmSync(join(this.dir, segName(id)), { force: true });
    }
    this.cursor = { ...to };
    this.writeCursor();
  }

  /** Writes buffered appends and syncs them. */
  sync(): void {
    this.flushWrites();
    if (this.unsynced && this.writeFd !== undefined) {
      fdatasyncSync(this.writeFd);
      this.unsynced = false;
    }
  }

  close(): void {
    clearTimeout(this.writeTimer);
    clearTimeout(this.syncTimer);
    this.sync();
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    this.writeFd = undefined;
  }

  private roll(): void {
    this.flushWrites();
    if (this.writeFd !== undefined) {
      fdatasyncSync(this.writeFd);
      closeSync(this.writeFd);
    }
    const id = this.nextId++;
    this.writeFd = openSync(join(this.dir, segName(id)), 'a');
    this.writeSeg = id;
    this.segments.push(id);
    this.sizes.set(id, 0);
    if (this.records === 0 || !this.cursor) {
      this.cursor = { seg: id, pos: 0 };
      this.writeCursor();
    }
  }

  private flushWritesSafely(): void {
    try {
      this.flushWrites();
    } catch (e) {
      this.logger.error({ err: e }, 'spool write failed');
    }
  }

  private flushWrites(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (this.pending.length === 0 || this.writeFd === undefined) return;
    const buf = this.pending.length === 1 ? (this.pending[0] ?? Buffer.alloc(0)) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    writeSync(this.writeFd, buf);
    this.unsynced = true;
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      try {
        this.sync();
      } catch (e) {
        this.logger.error({ err: e }, 'spool sync failed');
      }
    }, SYNC_DELAY_MS).unref();
  }

  private readAt(seg: number, pos: number, len: number): Buffer {
    const fd = openSync(join(this.dir, segName(seg)), 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.max(len, FRAME_HEADER));
      const n = readSync(fd, buf, 0, len, pos);
      return buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  /** Nothing left: delete every segment and start over. */
  private reset(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.writeFd !== undefined) closeSync(this.writeFd);
    this.writeFd = undefined;
    this.writeSeg = undefined;
    for (const id of this.segments) rmSync(join(this.dir, segName(id)), { force: true });
    this.segments = [];
    this.sizes.clear();
    this.records = 0;
    this.bytes = 0;
    this.cursor = undefined;
    rmSync(join(this.dir, CURSOR_FILE), { force: true });
  }

  private readCursor(): SpoolPosition | undefined {
    try {
      const c = JSON.parse(readFileSync(join(this.dir, CURSOR_FILE), 'utf8')) as Partial<SpoolPosition>;
      if (typeof c.seg === 'number' && typeof c.pos === 'number') return { seg: c.seg, pos: c.pos };
    } catch {
      // no cursor yet, or a torn one: start from the first segment (at-least-once)
    }
    return undefined;
  }

  private writeCursor(): void {
    if (!this.cursor) return;
    const tmp = join(this.dir, `${CURSOR_FILE}.tmp`);
    writeFileSync(tmp, JSON.stringify(this.cursor));
    renameSync(tmp, join(this.dir, CURSOR_FILE));
  }
}
