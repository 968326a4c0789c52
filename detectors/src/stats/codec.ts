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

/**
 * Writers fill a shared arena and hand out views of it: one allocation per chunk rather
 * than a pooled allocation plus a copy per state. A view is never written again once
 * handed out (the arena only moves forward; a full chunk is left to the views that
 * still hold it), so the bytes stay valid for as long as the caller keeps them. One
 * Writer at a time: serializers are synchronous and never nest.
 */
const CHUNK = 256 * 1024;

interface Arena {
  readonly buf: Buffer;
  readonly view: DataView;
  pos: number;
}

function newArena(size: number): Arena {
  const buf = Buffer.allocUnsafeSlow(size);
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), pos: 0 };
}

let arena = newArena(CHUNK);

export function isLegacyJson(b: Buffer): boolean {
  return b.length > 0 && b[0] === 0x5b;
}

export class Writer {
  private a = arena;
  private buf = arena.buf;
  private view = arena.view;
  private start = arena.pos;
  private pos = arena.pos;

  constructor() {
    this.u8(BINARY_V1);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Move what this writer has so far to a fresh chunk big enough for it and more.
    const len = this.pos - this.start;
    const next = newArena(Math.max(CHUNK, 2 * (len + n)));
    this.buf.copy(next.buf, 0, this.start, this.pos);
    arena = next;
    this.a = next;
    this.buf = next.buf;
    this.view = next.view;
    this.start = 0;
    this.pos = len;
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
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }

  str(s: string): this {
    const max = s.length * 3;
    this.ensure(max + 5);
    // ASCII strings under 128 chars (the usual ids and names): length byte and chars in one
    // pass; the first non-ASCII char falls back to the general path over the same bytes.
    if (s.length < 0x80) {
      const buf = this.buf;
      let pos = this.pos + 1;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[pos++] = c;
      }
      if (i === s.length) {
        buf[this.pos] = s.length;
        this.pos = pos;
        return this;
      }
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
    const view = this.view;
    let pos = this.pos;
    for (let i = 0; i < xs.length; i++) {
      view.setUint32(pos, (xs[i] as number) >>> 0, true);
      pos += 4;
    }
    this.pos = pos;
    return this;
  }

  f64s(xs: ArrayLike<number>): this {
    this.uint(xs.length);
    this.ensure(xs.length * 8);
    const view = this.view;
    let pos = this.pos;
    for (let i = 0; i < xs.length; i++) {
      view.setFloat64(pos, xs[i] as number, true);
      pos += 8;
    }
    this.pos = pos;
    return this;
  }

  /** The bytes written: a view of the arena, never written again (see above). */
  finish(): Buffer {
    const out = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.start, this.pos - this.start);
    if (this.a === arena) arena.pos = this.pos;
    return out;
  }
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
