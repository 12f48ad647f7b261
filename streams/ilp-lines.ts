import { NovaError } from '../core/index.ts';
import type { HostSample, Sample, VmSample } from '../schemas/index.ts';

/**
 * ILP (InfluxDB line protocol) for our two fixed row shapes, written as bytes per request.
 * Column names, separators and the escaped table name are fixed once per encoder, so a row
 * costs its values and (rarely) the escaping of its ids — the general client re-encodes every
 * column name of every row (see sample-store.ts for the figures).
 */

/** Unit of the designated timestamps written below; the `/write` request must name the same (`precision=ms`). */
export const ILP_PRECISION = 'ms';

// Printable ASCII without space, comma, '=' and backslash: ids made only of these need no
// escaping and are one UTF-8 byte per character (nearly every id, so it is tested first).
const PLAIN = /^[\x21-\x2b\x2d-\x3c\x3e-\x5b\x5d-\x7e]*$/;
// What QuestDB's ILP parser treats as a separator or escape inside a symbol value or a table
// name; each is written after a backslash (a newline as backslash + the newline byte itself).
const SPECIAL = /[ ,=\n\r\\]/g;

/** A symbol (tag) value or table name as ILP text: space, comma, '=', CR, LF and backslash escaped. */
export function escapeIlpName(value: string): string {
  return PLAIN.test(value) ? value : value.replace(SPECIAL, '\\$&');
}

const LONG_LIMIT = 2 ** 63;

/** A LONG field value with the `i` suffix; anything but an integer in LONG's range is refused. */
export function ilpLong(v: number, column: string): string {
  // -2^63 is QuestDB's NULL for LONG, so the accepted range is open at both ends.
  if (!Number.isInteger(v) || v <= -LONG_LIMIT || v >= LONG_LIMIT) {
    throw new NovaError('STORE_SAMPLE_INVALID', `${column} must be an integer within QuestDB's LONG range, got ${v}; the sample should have been rejected by validation (schemas/validate.ts)`, { details: { column, value: v } });
  }
  // Past 2^53 String() gives the shortest digits that read back as the same double, not the
  // integer the double holds (2^62 → "4611686018427388000"); BigInt spells it exactly.
  return Number.isSafeInteger(v) ? `${v}i` : `${BigInt(v)}i`;
}

function invalidTimestamp(ts: number): NovaError {
  return new NovaError('STORE_SAMPLE_INVALID', `ts must be an integer number of ms since the epoch, got ${ts}; the sample should have been rejected by validation (schemas/validate.ts)`, { details: { value: ts } });
}

/**
 * One `/write` request's worth of rows, all for one table (so QuestDB commits it all or nothing).
 * The body is bytes, written row by row into a Buffer: a chunk waits for QuestDB (and for
 * retries) while the worker goes on, and bytes outside V8's heap cost the collector nothing.
 */
export interface IlpChunk {
  table: string;
  /** ILP rows, each ending in `\n`; DOUBLE fields in the binary form (see SampleLineEncoder). */
  body: Buffer;
  rows: number;
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const MINUS = 0x2d;
const LONG_SUFFIX = 0x69; // 'i'
/** The ILP protocol version the encoder writes (binary DOUBLEs): QuestDB 9.0 and later; QuestDbSampleStore checks the server takes it. */
export const ILP_PROTOCOL_VERSION = 2;

/** ILP protocol version 2's type byte for a binary DOUBLE: `name==` + 16 + 8 bytes little-endian. */
const BINARY_DOUBLE = 16;
// Bytes a row needs besides its ids: column names and separators (< 200), 9 values of at most
// 21 bytes (a LONG's digits and sign, a binary double's 10), the timestamp.
const ROW_FIXED_BYTES = 512;
// An id escapes to at most 2 UTF-16 units per unit, each at most 3 UTF-8 bytes.
const ID_BYTES_PER_UNIT = 6;

/**
 * Memory for chunk bodies, handed out and given back. Why: a body lives until QuestDB answered
 * (~0.1-1 s), and a fresh Buffer per body is external memory V8 counts: every 64 MB of it
 * starts a garbage collection ("external memory pressure"), and at ~30 MB/s of bodies the
 * worker ran a full collection of its 100k VMs' detectors every ~2 s (bench:ingest, 2 workers
 * at 100,000/s: 27 full collections and 102 of 106 scavenges started that way in 80 s).
 * Reused memory is allocated once. Blocks are powers of two from 64 KiB; at most
 * `maxPooledBytes` wait to be reused, the rest is left to the garbage collector.
 */
export class ChunkMemory {
  private readonly free = new Map<number, ArrayBuffer[]>();
  // Blocks out now: a body given back twice (or one that never came from here) is ignored, so
  // two live chunks never share memory.
  private readonly lent = new WeakSet<ArrayBuffer>();
  private pooledBytes = 0;

  constructor(private readonly maxPooledBytes = 64 << 20) {}

  /** A Buffer of `bytes` (contents undefined) in a block of its own. */
  take(bytes: number): Buffer {
    const size = Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
    let block = this.free.get(size)?.pop();
    if (block) this.pooledBytes -= size;
    else block = new ArrayBuffer(size);
    this.lent.add(block);
    return Buffer.from(block, 0, bytes);
  }

  /** Gives back a body `take` returned, once nothing reads it any more. */
  give(body: Buffer): void {
    const block = body.buffer as ArrayBuffer;
    if (!this.lent.delete(block)) return;
    if (this.pooledBytes + block.byteLength > this.maxPooledBytes) return;
    const list = this.free.get(block.byteLength);
    if (list) list.push(block);
    else this.free.set(block.byteLength, [block]);
    this.pooledBytes += block.byteLength;
  }
}

const MIN_BLOCK = 64 << 10;

/**
 * Rows of one table written into a growable Buffer and cut into chunks of at most `maxBytes`.
 * Each row is written at the end, then the chunk is cut before it when it made the chunk too
 * long (a single row longer than `maxBytes` still goes, alone).
 */
class TableWriter {
  readonly done: IlpChunk[] = [];
  at = 0;
  private rowStart = 0;
  private rows = 0;

  /** `buf` is scratch space (the encoder's, reused across batches): every chunk is a copy of its part, in `memory`. */
  constructor(private readonly table: string, private readonly maxBytes: number, public buf: Buffer, private readonly memory: ChunkMemory) {}

  /** Room for a row of at most `bytes`; call before writing it. */
  beginRow(bytes: number): void {
    this.rowStart = this.at;
    if (this.at + bytes > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
  }

  endRow(): void {
    if (this.rows > 0 && this.at > this.maxBytes) {
      // The row does not fit: the rows before it are a chunk; it starts the next one.
      const rowBytes = this.at - this.rowStart;
      this.cut(this.rowStart);
      this.buf.copyWithin(0, this.rowStart, this.rowStart + rowBytes);
      this.at = rowBytes;
    }
    this.rows++;
  }

  finish(): IlpChunk[] {
    if (this.rows > 0) this.cut(this.at);
    return this.done;
  }

  private cut(end: number): void {
    const body = this.memory.take(end);
    this.buf.copy(body, 0, 0, end);
    this.done.push({ table: this.table, body, rows: this.rows });
    this.rows = 0;
    this.at = 0;
  }

  /** Constant bytes (a column name with its separators). */
  bytes(b: Uint8Array): void {
    // A loop, not buf.set: these are 7-20 bytes, where the builtin's call costs more than the copy.
    const buf = this.buf;
    const at = this.at;
    for (let i = 0; i < b.length; i++) buf[at + i] = b[i]!;
    this.at = at + b.length;
  }

  /** A symbol value: as is when plain printable ASCII (nearly every id), else escaped, in UTF-8. */
  symbol(value: string): void {
    if (PLAIN.test(value)) this.ascii(value);
    else this.at += this.buf.write(escapeIlpName(value), this.at, 'utf8');
  }

  /** A DOUBLE's 8 bytes (IEEE 754, little-endian), after its column's `doubleColumn` bytes: exact, and nothing to format or parse. */
  double(v: number): void {
    const buf = this.buf;
    const at = this.at;
    DOUBLE[0] = v;
    for (let i = 0; i < 8; i++) buf[at + i] = DOUBLE_BYTES[i]!;
    this.at = at + 8;
  }

  /** A LONG after `name=`: its digits and `i`. */
  long(v: number, column: string): void {
    if (Number.isSafeInteger(v)) {
      this.digits(v);
      this.buf[this.at++] = LONG_SUFFIX;
    } else {
      this.ascii(ilpLong(v, column)); // refuses what is not a LONG; exact past 2^53
    }
  }

  /** The designated timestamp (after a space) and the row's newline. */
  timestamp(ts: number): void {
    if (!Number.isSafeInteger(ts)) throw invalidTimestamp(ts);
    this.buf[this.at++] = SPACE;
    this.digits(ts);
    this.buf[this.at++] = NEWLINE;
  }

  /** A string of single-byte characters, byte by byte. */
  private ascii(s: string): void {
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
  }

  /**
   * Decimal digits of a safe integer. In halves below 10^8, where `(x / 10) | 0` is integer
   * arithmetic: `%` and division on larger doubles are floating-point (fmod) and made
   * formatting a 13-digit timestamp cost more than writing the rest of its row.
   */
  private digits(v: number): void {
    if (v < 0) {
      this.buf[this.at++] = MINUS;
      v = -v;
    }
    if (v < 1e8) {
      this.digitsBelow1e8(v, 1);
      return;
    }
    let hi = Math.floor(v / 1e8);
    let lo = v - hi * 1e8;
    // v / 1e8 may round up to the next integer by a hair; the remainder says so.
    if (lo < 0) {
      hi -= 1;
      lo += 1e8;
    }
    this.digitsBelow1e8(hi, 1);
    this.digitsBelow1e8(lo, 8);
  }

  /** 0 <= x < 10^8, an integer, at least `width` digits (zero-padded). */
  private digitsBelow1e8(x: number, width: number): void {
    let n = 1;
    while (n < 8 && x >= POWERS_OF_TEN[n]!) n++;
    if (n < width) n = width;
    const buf = this.buf;
    for (let i = this.at + n - 1; i >= this.at; i--) {
      const q = (x / 10) | 0;
      buf[i] = 0x30 + x - q * 10;
      x = q;
    }
    this.at += n;
  }
}

// A double's IEEE 754 bytes, little-endian as QuestDB reads them (checked: every platform Node runs on here is little-endian).
const DOUBLE = new Float64Array(1);
const DOUBLE_BYTES = new Uint8Array(DOUBLE.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('ilp-lines: a big-endian platform needs the binary doubles byte-swapped');

const POWERS_OF_TEN = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
/** What precedes a binary DOUBLE value: the separator, `name`, `==` and the type byte. */
const doubleColumn = (separator: ' ' | ',', name: string) => new Uint8Array([...bytesOf(`${separator}${name}==`), BINARY_DOUBLE]);

/**
 * Encodes samples into ILP for `vm_samples` and `host_samples` (the column layout of
 * streams/tables.ts): one chunk list per table, each chunk at most `maxBytes`.
 *
 * Rows are written straight into Buffers, DOUBLE fields in ILP protocol version 2's binary form
 * (QuestDB 9.0 and later; `line.proto.support.versions` in its /settings): formatting a double
 * as its shortest decimal text was the largest part of the worker's ILP cost, QuestDB then
 * parsed it back, and the per-row strings were the worker's garbage. Same 400,000 VM rows posted
 * in 10k-row requests (this machine): QuestDB 2.87-3.45 µs a row binary vs 3.35-3.55 text.
 */
export class SampleLineEncoder {
  private readonly vm: Readonly<Record<'head' | 'vmId' | 'cpu' | 'vcpus' | 'memUsed' | 'memTotal' | 'diskRead' | 'diskWrite' | 'netRx' | 'netTx' | 'delay', Uint8Array>>;
  private readonly host: Readonly<Record<'head' | 'cpu' | 'capacity' | 'memUsed' | 'memTotal' | 'diskRead' | 'diskWrite' | 'netRx' | 'netTx' | 'steal', Uint8Array>>;

  // Rows are written here, then copied out as chunks: one allocation per chunk, not per row.
  private vmScratch: Buffer = Buffer.allocUnsafeSlow(64 << 10);
  private hostScratch: Buffer = Buffer.allocUnsafeSlow(16 << 10);

  constructor(readonly vmTable: string, readonly hostTable: string, readonly maxBytes: number, readonly memory = new ChunkMemory()) {
    this.vm = {
      head: bytesOf(`${escapeIlpName(vmTable)},host_id=`), vmId: bytesOf(',vm_id='),
      cpu: doubleColumn(' ', 'cpu_used_cores'), vcpus: doubleColumn(',', 'vcpus'), memUsed: bytesOf(',mem_used_bytes='), memTotal: bytesOf(',mem_total_bytes='),
      diskRead: doubleColumn(',', 'disk_read_bps'), diskWrite: doubleColumn(',', 'disk_write_bps'), netRx: doubleColumn(',', 'net_rx_bps'), netTx: doubleColumn(',', 'net_tx_bps'), delay: doubleColumn(',', 'vcpu_delay_pct'),
    };
    this.host = {
      head: bytesOf(`${escapeIlpName(hostTable)},host_id=`),
      cpu: doubleColumn(' ', 'cpu_used_cores'), capacity: doubleColumn(',', 'cpu_capacity_cores'), memUsed: bytesOf(',mem_used_bytes='), memTotal: bytesOf(',mem_total_bytes='),
      diskRead: doubleColumn(',', 'disk_read_bps'), diskWrite: doubleColumn(',', 'disk_write_bps'), netRx: doubleColumn(',', 'net_rx_bps'), netTx: doubleColumn(',', 'net_tx_bps'), steal: doubleColumn(',', 'cpu_steal_pct'),
    };
  }

  private vmRow(w: TableWriter, s: VmSample): void {
    const c = this.vm;
    w.beginRow(ROW_FIXED_BYTES + c.head.length + (s.hostId.length + s.vmId.length) * ID_BYTES_PER_UNIT);
    w.bytes(c.head);
    w.symbol(s.hostId);
    w.bytes(c.vmId);
    w.symbol(s.vmId);
    w.bytes(c.cpu);
    w.double(s.cpuUsedCores);
    w.bytes(c.vcpus);
    w.double(s.vcpus);
    w.bytes(c.memUsed);
    w.long(s.memUsedBytes, 'memUsedBytes');
    w.bytes(c.memTotal);
    w.long(s.memTotalBytes, 'memTotalBytes');
    w.bytes(c.diskRead);
    w.double(s.diskReadBps);
    w.bytes(c.diskWrite);
    w.double(s.diskWriteBps);
    w.bytes(c.netRx);
    w.double(s.netRxBps);
    w.bytes(c.netTx);
    w.double(s.netTxBps);
    w.bytes(c.delay);
    w.double(s.vcpuDelayPct);
    w.timestamp(s.ts);
    w.endRow();
  }

  private hostRow(w: TableWriter, s: HostSample): void {
    const c = this.host;
    w.beginRow(ROW_FIXED_BYTES + c.head.length + s.hostId.length * ID_BYTES_PER_UNIT);
    w.bytes(c.head);
    w.symbol(s.hostId);
    w.bytes(c.cpu);
    w.double(s.cpuUsedCores);
    w.bytes(c.capacity);
    w.double(s.cpuCapacityCores);
    w.bytes(c.memUsed);
    w.long(s.memUsedBytes, 'memUsedBytes');
    w.bytes(c.memTotal);
    w.long(s.memTotalBytes, 'memTotalBytes');
    w.bytes(c.diskRead);
    w.double(s.diskReadBps);
    w.bytes(c.diskWrite);
    w.double(s.diskWriteBps);
    w.bytes(c.netRx);
    w.double(s.netRxBps);
    w.bytes(c.netTx);
    w.double(s.netTxBps);
    w.bytes(c.steal);
    w.double(s.cpuStealPct);
    w.timestamp(s.ts);
    w.endRow();
  }

  /** The ILP row of one VM sample (with its trailing newline). */
  vmLine(s: VmSample): Buffer {
    return this.encode([{ kind: 'vm', sample: s }])[0]!.body;
  }

  /** The ILP row of one host sample (with its trailing newline). */
  hostLine(s: HostSample): Buffer {
    return this.encode([{ kind: 'host', sample: s }])[0]!.body;
  }

  /**
   * The samples as requests: VM chunks then host chunks, each for one table and at most
   * `maxBytes` long (a single row longer than that still goes, alone).
   */
  encode(samples: readonly Sample[]): IlpChunk[] {
    const vm = new TableWriter(this.vmTable, this.maxBytes, this.vmScratch, this.memory);
    const host = new TableWriter(this.hostTable, this.maxBytes, this.hostScratch, this.memory);
    for (const s of samples) {
      if (s.kind === 'vm') this.vmRow(vm, s.sample);
      else this.hostRow(host, s.sample);
    }
    // Scratch that had to grow is kept for the next batch.
    this.vmScratch = vm.buf;
    this.hostScratch = host.buf;
    return [...vm.finish(), ...host.finish()];
  }
}

/**
 * Chunks of several encoded batches as few requests as fit: per table (in order of first
 * appearance), consecutive chunks are joined while the result stays within `maxBytes` (a chunk
 * already larger goes alone). Rows keep their order within each table. Every body is a copy in
 * `memory` (never one of the inputs, which their owners give back on their own).
 */
export function mergeChunks(chunks: readonly IlpChunk[], maxBytes: number, memory: ChunkMemory): IlpChunk[] {
  const byTable = new Map<string, IlpChunk[]>();
  for (const c of chunks) {
    const list = byTable.get(c.table);
    if (list) list.push(c);
    else byTable.set(c.table, [c]);
  }
  const out: IlpChunk[] = [];
  for (const [table, list] of byTable) {
    let parts: Buffer[] = [];
    let bytes = 0;
    let rows = 0;
    const cut = () => {
      if (parts.length === 0) return;
      const body = memory.take(bytes);
      let at = 0;
      for (const p of parts) at += p.copy(body, at);
      out.push({ table, body, rows });
      parts = [];
      bytes = 0;
      rows = 0;
    };
    for (const c of list) {
      if (parts.length > 0 && bytes + c.body.length > maxBytes) cut();
      parts.push(c.body);
      bytes += c.body.length;
      rows += c.rows;
    }
    cut();
  }
  return out;
}
