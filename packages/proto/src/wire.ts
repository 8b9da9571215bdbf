// The protobuf wire writer shared by the hand-written hot codecs (bytes identical to protobuf-es).

export const utf8 = new TextEncoder();

export class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  ensure(n: number) {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(b: number) {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  varint(n: number) {
    this.ensure(10);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  varint64(n: bigint) {
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return this.varint(Number(n));
    this.ensure(10);
    while (n > 0x7fn) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }
  double(tag: number, v: number) {
    if (v === 0 && !Object.is(v, -0)) return;
    this.byte(tag);
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
}
