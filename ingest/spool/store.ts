import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, NovaError, type Logger } from '../../core/index.ts';
import { encodeRecord, parseSegment, SEGMENT_MAGIC, type SpoolRecord } from './record.ts';

const SEGMENT_FILE = /^(\d{12})\.seg$/;
const LOCK_FILE = 'LOCK';
/** Spool folders this process holds: the pid in a lock file cannot tell two producers of one process apart. */
const LOCKED_HERE = new Set<string>();

/** A sealed or active segment file, as the store accounts for it. */
export interface SegmentInfo {
  seq: number;
  file: string;
  bytes: number;
  records: number;
  /** Records of this segment the drain has had acknowledged (in memory only: a crash resends the segment). */
  acked: number;
  /** Set when the size bound dropped this segment while the drain was sending it. */
  dropped: boolean;
}

export interface SpoolStoreOptions {
  dir: string;
  maxBytes: number;
  /** Size at which the active segment is sealed and a new one started. */
  segmentBytes: number;
  log: Logger;
}

/**
 * Segment files on disk, oldest first. All file work is synchronous: a state change (append,
 * seal, delete) then happens in one turn of the event loop, so a drain and a send never see
 * half of each other's work. Appends fsync once per write.
 */
export class SpoolStore {
  private readonly segments: SegmentInfo[] = [];
  private active: { info: SegmentInfo; fd: number } | undefined;
  private nextSeq = 1;
  private closed = false;
  /** Records dropped to keep within maxBytes (or unreadable after a crash), since open. */
  droppedRecords = 0;

  private constructor(private readonly opts: SpoolStoreOptions) {}

  /** Opens (creating) the spool folder, takes its lock, and recovers what a previous run left. */
  static open(opts: SpoolStoreOptions): SpoolStore {
    const store = new SpoolStore(opts);
    try {
      mkdirSync(opts.dir, { recursive: true });
      store.lock();
    } catch (err) {
      throw unusable(opts.dir, err);
    }
    try {
      store.recover();
    } catch (err) {
      store.unlock();
      throw unusable(opts.dir, err);
    }
    return store;
  }

  get dir(): string {
    return this.opts.dir;
  }

  get bytes(): number {
    return this.segments.reduce((a, s) => a + s.bytes, 0);
  }

  /** Records on disk not yet acknowledged by the broker. */
  get pendingRecords(): number {
    return this.segments.reduce((a, s) => a + s.records - s.acked, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  isEmpty(): boolean {
    return this.segments.length === 0;
  }

  /** Appends records in order and fsyncs; drops the oldest segments first if the bound requires. */
  append(records: SpoolRecord[]): void {
    if (this.closed) throw new NovaError('SPOOL_CLOSED', 'the spool is closed; this is a bug in the caller (send after close)');
    if (records.length === 0) return;
    const encoded = records.map(encodeRecord);
    const size = encoded.reduce((a, b) => a + b.length, 0);
    if (size + SEGMENT_MAGIC.length > this.opts.maxBytes) {
      // Larger than the whole spool may be: keeping it would mean dropping everything else.
      this.droppedRecords += records.length;
      this.opts.log.warn({ dir: this.opts.dir, records: records.length, bytes: size, maxBytes: this.opts.maxBytes }, 'spool: a send larger than the spool bound was dropped; raise NOVACRON_SPOOL_MAX_BYTES');
      return;
    }
    while (this.segments.length > 0 && this.bytes + size + (this.needsRoll(size) ? SEGMENT_MAGIC.length : 0) > this.opts.maxBytes) this.dropOldest();
    if (this.needsRoll(size)) this.roll();
    const active = this.active!;
    const buf = encoded.length === 1 ? encoded[0]! : Buffer.concat(encoded, size);
    try {
      writeAll(active.fd, buf);
      fsyncSync(active.fd);
    } catch (cause) {
      // Undo the partial write so the segment stays parseable; the caller sees the failure.
      try {
        ftruncateSync(active.fd, active.info.bytes);
      } catch { /* recovery at the next open truncates it instead */ }
      throw new NovaError('SPOOL_WRITE_FAILED', `cannot write to the spool in ${this.opts.dir} (${(cause as Error).message}); free disk space or point NOVACRON_SPOOL_DIR elsewhere`, { cause });
    }
    active.info.bytes += size;
    active.info.records += records.length;
  }

  /**
   * The oldest segment with its records, for the drain. If it is the one being appended to,
   * it is sealed first: new appends go to a fresh segment, behind it.
   */
  oldest(): { info: SegmentInfo; records: SpoolRecord[] } | undefined {
    const info = this.segments[0];
    if (!info) return undefined;
    if (this.active?.info === info) this.seal();
    const parsed = parseSegment(readFileSync(info.file));
    if (parsed.problem) {
      // Only a disk fault gets here (the tail was checked at open): keep what is readable.
      const lost = Math.max(0, info.records - parsed.records.length);
      this.droppedRecords += lost;
      this.opts.log.warn({ file: info.file, problem: parsed.problem, lostRecords: lost }, 'spool: a sealed segment is damaged; sending the records before the damage');
      info.records = parsed.records.length;
    }
    return { info, records: parsed.records };
  }

  /** Deletes a segment whose records were all acknowledged. */
  remove(info: SegmentInfo): void {
    const i = this.segments.indexOf(info);
    if (i < 0) return; // already dropped by the bound
    if (this.active?.info === info) this.seal();
    this.segments.splice(i, 1);
    rmSync(info.file, { force: true });
  }

  /** Closes the active file and releases the lock; segments stay on disk for the next run. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.active) this.seal();
    this.unlock();
  }

  private needsRoll(size: number): boolean {
    return !this.active || (this.active.info.bytes > SEGMENT_MAGIC.length && this.active.info.bytes + size > this.opts.segmentBytes);
  }

  private roll(): void {
    if (this.active) this.seal();
    const seq = this.nextSeq++;
    const file = join(this.opts.dir, `${String(seq).padStart(12, '0')}.seg`);
    const fd = openSync(file, 'wx');
    writeAll(fd, SEGMENT_MAGIC);
    fsyncSync(fd);
    const info: SegmentInfo = { seq, file, bytes: SEGMENT_MAGIC.length, records: 0, acked: 0, dropped: false };
    this.segments.push(info);
    this.active = { info, fd };
  }

  private seal(): void {
    if (!this.active) return;
    closeSync(this.active.fd);
    this.active = undefined;
  }

  private dropOldest(): void {
    const info = this.segments.shift()!;
    if (this.active?.info === info) this.seal();
    const lost = info.records - info.acked;
    info.dropped = true;
    this.droppedRecords += lost;
    rmSync(info.file, { force: true });
    this.opts.log.warn({ file: info.file, droppedRecords: lost, droppedTotal: this.droppedRecords, maxBytes: this.opts.maxBytes }, 'spool: full, dropped its oldest segment; raise NOVACRON_SPOOL_MAX_BYTES or bring Kafka back');
  }

  /** Reads what a previous run left: counts records, truncates a torn tail (a crash mid-write). */
  private recover(): void {
    const files = readdirSync(this.opts.dir)
      .map((f) => ({ f, m: SEGMENT_FILE.exec(f) }))
      .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
      .map((x) => ({ file: join(this.opts.dir, x.f), seq: Number(x.m[1]) }))
      .sort((a, b) => a.seq - b.seq);
    for (const { file, seq } of files) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const buf = readFileSync(file);
      const parsed = parseSegment(buf);
      if (parsed.problem) {
        if (parsed.goodBytes === 0) {
          // Not ours, or torn before its header was complete: set it aside rather than guess.
          const aside = `${file}.corrupt`;
          renameSync(file, aside);
          this.opts.log.warn({ file, movedTo: aside, problem: parsed.problem }, 'spool: unreadable segment set aside');
          continue;
        }
        const fd = openSync(file, 'r+');
        try {
          ftruncateSync(fd, parsed.goodBytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        this.opts.log.warn({ file, problem: parsed.problem, keptRecords: parsed.records.length, discardedBytes: buf.length - parsed.goodBytes }, 'spool: truncated a segment torn by a crash; the records before the tear are kept');
      }
      if (parsed.records.length === 0) {
        rmSync(file, { force: true });
        continue;
      }
      this.segments.push({ seq, file, bytes: parsed.goodBytes, records: parsed.records.length, acked: 0, dropped: false });
    }
    if (this.segments.length > 0) this.opts.log.info({ dir: this.opts.dir, records: this.pendingRecords, bytes: this.bytes }, 'spool: found records left by a previous run; they are sent first');
  }

  private lock(): void {
    const file = join(this.opts.dir, LOCK_FILE);
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      LOCKED_HERE.add(this.opts.dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(file, 'utf8').trim());
    const ours = holder === process.pid && LOCKED_HERE.has(this.opts.dir);
    if (ours || (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder))) {
      throw new NovaError('SPOOL_LOCKED', `the spool ${this.opts.dir} is in use by process ${holder}; stop it, or give this producer another spool (NOVACRON_SPOOL_DIR or another topic prefix)`);
    }
    writeFileSync(file, `${process.pid}\n`); // stale lock of a process that died
    LOCKED_HERE.add(this.opts.dir);
  }

  private unlock(): void {
    LOCKED_HERE.delete(this.opts.dir);
    rmSync(join(this.opts.dir, LOCK_FILE), { force: true });
  }
}

function unusable(dir: string, err: unknown): NovaError {
  if (err instanceof NovaError) return err;
  return new NovaError('SPOOL_UNUSABLE', `cannot use the spool folder ${dir} (${(err as Error).message}); check its permissions and free space, or set NOVACRON_SPOOL_DIR`, { cause: err });
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
