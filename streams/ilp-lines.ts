import { NovaError } from '../core/index.ts';
import type { HostSample, Sample, VmSample } from '../schemas/index.ts';

/**
 * ILP (InfluxDB line protocol) text for our two fixed row shapes, built as one string per
 * request. Column names, separators and the escaped table name are fixed once per encoder,
 * so a row costs the number formatting and (rarely) the escaping of its ids — the general
 * client re-encodes every column name of every row (see sample-store.ts for the figures).
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

/**
 * A DOUBLE field value: JS's shortest round-trip representation (`1e+21`, `5e-324` parse in
 * QuestDB), `-0` kept signed. NaN and ±Infinity are written as such and QuestDB stores them
 * as NULL (its DOUBLE has no other encoding for them); validated samples never carry them.
 */
export function ilpDouble(v: number): string {
  return v === 0 && 1 / v < 0 ? '-0' : String(v);
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

function ilpTimestamp(ts: number): string {
  if (!Number.isSafeInteger(ts)) {
    throw new NovaError('STORE_SAMPLE_INVALID', `ts must be an integer number of ms since the epoch, got ${ts}; the sample should have been rejected by validation (schemas/validate.ts)`, { details: { value: ts } });
  }
  return String(ts);
}

/** UTF-8 bytes beyond one per UTF-16 unit that `s` adds to a request (0 for ASCII). */
function extraUtf8Bytes(s: string): number {
  return /^[\x00-\x7f]*$/.test(s) ? 0 : Buffer.byteLength(s) - s.length;
}

/**
 * One `/write` request's worth of rows, all for one table (so QuestDB commits it all or nothing).
 * The body is bytes, not the text it was built from: a chunk waits for QuestDB (and for retries)
 * while the worker goes on, and the per-line strings of a built-up text would sit in V8's heap
 * all that time (see SampleStore.encode); a Buffer's bytes sit outside it, in one piece.
 */
export interface IlpChunk {
  table: string;
  /** ILP lines in UTF-8, each ending in `\n`. */
  body: Buffer;
  rows: number;
}

/** Collects the lines of one table and cuts them into chunks of at most `maxBytes` UTF-8 bytes. */
class TableChunks {
  readonly done: IlpChunk[] = [];
  private body = '';
  private rows = 0;
  private bytes = 0;

  constructor(private readonly table: string, private readonly maxBytes: number) {}

  add(line: string, bytes: number): void {
    if (this.rows > 0 && this.bytes + bytes > this.maxBytes) this.cut();
    this.body += line;
    this.bytes += bytes;
    this.rows++;
  }

  finish(): IlpChunk[] {
    if (this.rows > 0) this.cut();
    return this.done;
  }

  private cut(): void {
    this.done.push({ table: this.table, body: Buffer.from(this.body, 'utf8'), rows: this.rows });
    this.body = '';
    this.rows = 0;
    this.bytes = 0;
  }
}

/**
 * Encodes samples into ILP for `vm_samples` and `host_samples` (the column layout of
 * streams/tables.ts): one chunk list per table, each chunk at most `maxBytes`.
 */
export class SampleLineEncoder {
  private readonly vmPrefix: string;
  private readonly hostPrefix: string;
  private readonly vmPrefixBytes: number;
  private readonly hostPrefixBytes: number;

  constructor(readonly vmTable: string, readonly hostTable: string, readonly maxBytes: number) {
    this.vmPrefix = `${escapeIlpName(vmTable)},host_id=`;
    this.hostPrefix = `${escapeIlpName(hostTable)},host_id=`;
    this.vmPrefixBytes = Buffer.byteLength(this.vmPrefix);
    this.hostPrefixBytes = Buffer.byteLength(this.hostPrefix);
  }

  /** The ILP line of one VM sample (with its trailing newline). */
  vmLine(s: VmSample): string {
    return `${this.vmPrefix}${escapeIlpName(s.hostId)},vm_id=${escapeIlpName(s.vmId)} cpu_used_cores=${ilpDouble(s.cpuUsedCores)},vcpus=${ilpDouble(s.vcpus)},mem_used_bytes=${ilpLong(s.memUsedBytes, 'memUsedBytes')},mem_total_bytes=${ilpLong(s.memTotalBytes, 'memTotalBytes')},disk_read_bps=${ilpDouble(s.diskReadBps)},disk_write_bps=${ilpDouble(s.diskWriteBps)},net_rx_bps=${ilpDouble(s.netRxBps)},net_tx_bps=${ilpDouble(s.netTxBps)},vcpu_delay_pct=${ilpDouble(s.vcpuDelayPct)} ${ilpTimestamp(s.ts)}\n`;
  }

  /** The ILP line of one host sample (with its trailing newline). */
  hostLine(s: HostSample): string {
    return `${this.hostPrefix}${escapeIlpName(s.hostId)} cpu_used_cores=${ilpDouble(s.cpuUsedCores)},cpu_capacity_cores=${ilpDouble(s.cpuCapacityCores)},mem_used_bytes=${ilpLong(s.memUsedBytes, 'memUsedBytes')},mem_total_bytes=${ilpLong(s.memTotalBytes, 'memTotalBytes')},disk_read_bps=${ilpDouble(s.diskReadBps)},disk_write_bps=${ilpDouble(s.diskWriteBps)},net_rx_bps=${ilpDouble(s.netRxBps)},net_tx_bps=${ilpDouble(s.netTxBps)},cpu_steal_pct=${ilpDouble(s.cpuStealPct)} ${ilpTimestamp(s.ts)}\n`;
  }

  /**
   * The samples as requests: VM chunks then host chunks, each for one table and at most
   * `maxBytes` long (a single line longer than that still goes, alone).
   */
  encode(samples: readonly Sample[]): IlpChunk[] {
    const vm = new TableChunks(this.vmTable, this.maxBytes);
    const host = new TableChunks(this.hostTable, this.maxBytes);
    for (const s of samples) {
      if (s.kind === 'vm') {
        const line = this.vmLine(s.sample);
        // Only the ids and the table name can be non-ASCII; everything else is one byte a character.
        vm.add(line, line.length + (this.vmPrefixBytes - this.vmPrefix.length) + extraUtf8Bytes(s.sample.hostId) + extraUtf8Bytes(s.sample.vmId));
      } else {
        const line = this.hostLine(s.sample);
        host.add(line, line.length + (this.hostPrefixBytes - this.hostPrefix.length) + extraUtf8Bytes(s.sample.hostId));
      }
    }
    return [...vm.finish(), ...host.finish()];
  }
}

/**
 * Chunks of several encoded batches as few requests as fit: per table (in order of first
 * appearance), consecutive chunks are joined while the result stays within `maxBytes` (a chunk
 * already larger goes alone). Rows keep their order within each table.
 */
export function mergeChunks(chunks: readonly IlpChunk[], maxBytes: number): IlpChunk[] {
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
      out.push({ table, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes), rows });
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
