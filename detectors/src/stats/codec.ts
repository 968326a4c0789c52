/**
 * A compact binary encoding for scorer states in the changelog: every changed entity is
 * serialised once per batch, so this is on the hot path. Layout: a version byte (BINARY_V1),
 * then fields in a fixed order; counts and lengths as unsigned LEB128 varints, floats as
 * float64 LE (exact: a restored state scores exactly as the one it was written from),
 * strings as UTF-8 with a varint byte length.
 *
 * States written before this encoding were JSON arrays, which always start with `[`
 * (0x5b); `isLegacyJson` lets a scorer still read those from an older changelog.
 */
export const BINARY_V1 = 0x01;

let scratch = Buffer.allocUnsafe(64 * 1024);

export function isLegacyJson(b: Buffer): boolean {
  return b.length > 0 && b[0] === 0x5b;
}

export class Writer {
  private pos = 0;
  private buf = scratch;

  constructor() {
    this.u8(BINARY_V1);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    scratch = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  /** Unsigned integer < 2^53 as LEB128. */
  uint(v: number): this {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  f64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  str(s: string): this {
    // Latin-1-only strings (the usual ids and names) are as long in UTF-8 as in chars.
    const max = s.length * 3;
    this.ensure(max + 5);
    if (max < 0x80 * 3 && isAscii(s)) {
      this.buf[this.pos++] = s.length;
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return this;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.uint(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    return this;
  }

  /** Ring of 32-bit hashes: count, then each as u32. */
  u32s(xs: ArrayLike<number>): this {
    this.uint(xs.length);
    this.ensure(xs.length * 4);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < xs.length; i++) {
      const v = (xs[i] as number) >>> 0;
      buf[pos] = v & 0xff;
      buf[pos + 1] = (v >>> 8) & 0xff;
      buf[pos + 2] = (v >>> 16) & 0xff;
      buf[pos + 3] = v >>> 24;
      pos += 4;
    }
    this.pos = pos;
    return this;
  }

  f64s(xs: ArrayLike<number>): this {
    this.uint(xs.length);
    this.ensure(xs.length * 8);
    for (let i = 0; i < xs.length; i++) {
      this.buf.writeDoubleLE(xs[i] as number, this.pos);
      this.pos += 8;
    }
    return this;
  }

  /** A copy of the bytes written, owned by the caller. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

export class Reader {
  private pos = 1;

  constructor(private readonly buf: Buffer) {
    if (buf[0] !== BINARY_V1) throw new Error(`unknown state encoding ${String(buf[0])}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated state');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  uint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error('bad varint');
    }
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  str(): string {
    const n = this.uint();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  u32s(): number[] {
    const n = this.uint();
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.u32();
    return out;
  }

  f64s(): number[] {
    const n = this.uint();
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.f64();
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new Error('trailing bytes in state');
  }
}
