import { Agent, request } from 'node:http';
import { NovaError, questdbTable, type Config } from '../core/index.ts';
import type { Sample } from '../schemas/index.ts';
import { ChunkMemory, ILP_PRECISION, ILP_PROTOCOL_VERSION, mergeChunks, SampleLineEncoder, type IlpChunk } from './ilp-lines.ts';
import { classifyStoreError, isRetriableStatus } from './store-retry.ts';
import { SAMPLE_TABLES } from './tables.ts';

/** A batch's rows in a store's own form, ready to send: what `encode` returns and `writeEncoded` takes. */
export interface EncodedRows {
  readonly rows: number;
}

/**
 * The SampleStore port: a write resolves only once every row is durable in the store.
 *
 * Why encode apart from write: a batch waits on the store for as long as the store takes (and
 * longer while it retries), and whatever the waiting caller holds lives that long. Holding the
 * decoded samples through the write kept every sample alive across a V8 young-generation
 * collection at fleet rates (writes took ~0.9 s under load, a scavenge came every ~0.65 s), so
 * each was copied, promoted and later swept by a full collection: bench:ingest showed scavenges
 * of 100-160 ms and an old generation swinging 270 → 785 MB. The worker encodes a batch once,
 * lets its samples go, and writes (and retries) the encoded rows, which hold no Sample objects.
 */
export interface SampleStore<R extends EncodedRows = EncodedRows> {
  /** The samples in the store's form (synchronous; the result keeps no reference to them). Throws the store's error for a sample it cannot take. */
  encode(samples: readonly Sample[]): R;
  /** Several encoded batches as one write (CoalescingSampleStore: one transaction per table, not one per batch). */
  merge(parts: readonly R[]): R;
  /** Writes encoded rows; the same rows can be written again after a failure. */
  writeEncoded(rows: R): Promise<void>;
  /** The rows will not be written again and no write of them is in flight: the store may reuse their memory. */
  release(rows: R): void;
  /** `writeEncoded(encode(samples))`, then `release`. */
  write(samples: readonly Sample[]): Promise<void>;
  close(): Promise<void>;
}

/** What every SampleStore's `write` does: encode, write, and release the rows once the write settled. A sample the store cannot encode rejects the promise. */
export async function writeSamples<R extends EncodedRows>(store: SampleStore<R>, samples: readonly Sample[]): Promise<void> {
  const rows = store.encode(samples);
  try {
    await store.writeEncoded(rows);
  } finally {
    store.release(rows);
  }
}

/** Tuning of QuestDbSampleStore; the defaults suit the worker's batches. */
export interface QuestDbSampleStoreOptions {
  /** Largest request body, bytes (default 8 MiB); bigger batches go as several requests. */
  maxRequestBytes?: number;
  /** Requests of one write in flight at once (default 2: VM and host rows side by side). */
  maxInFlight?: number;
  /** Time allowed for QuestDB to answer a request of 0 bytes, ms (default 10 s); see `minThroughputBps`. */
  requestTimeoutMs?: number;
  /** Slowest upload accepted, bytes/s (default 100 KiB/s): a request of n bytes gets `requestTimeoutMs + n / minThroughputBps` s. */
  minThroughputBps?: number;
}

const DEFAULTS: Required<QuestDbSampleStoreOptions> = {
  maxRequestBytes: 8 << 20,
  maxInFlight: 2,
  requestTimeoutMs: 10_000,
  minThroughputBps: 100 << 10,
};

/** QuestDbSampleStore's encoded rows: one ILP request body per chunk. */
export interface IlpRows extends EncodedRows {
  readonly chunks: readonly IlpChunk[];
}

/**
 * SampleStore over QuestDB's ILP/HTTP endpoint (`POST /write`), into WAL tables with dedup keys.
 *
 * Why not @questdb/nodejs-client's Sender (which this store used before): its row builder
 * re-encodes every column name as UTF-8 for every field of every row, and profiling the
 * worker put 25-38 % of its CPU there. Measured on the project machine, the Sender took
 * 10-28k rows/s, ILP text built as one string per batch and POSTed 38-58k rows/s
 * (bench/ingest/ilp-direct.ts, variant `text`). Our two row shapes are fixed, so their rows
 * are written from precomputed pieces (streams/ilp-lines.ts; since then as bytes, with binary
 * DOUBLEs: QuestDB 9.0 or later). Same 200k VM samples in 5,000-row batches, Sender store vs
 * text store: 24-39k vs 42-88k rows/s, 16.3 vs 5.1-6.2 µs of client CPU a row.
 *
 * When a write resolves, QuestDB has answered 204 to every request, which it does only after
 * committing the rows to the table's WAL (they become visible to queries once the WAL is
 * applied, see QuestDbClient.waitForWalApplied; the WAL is fsynced only under
 * cairo.commit.mode=sync, so by default a commit survives a QuestDB crash, not a power
 * loss). Each request holds the rows of one table
 * only, because QuestDB commits an ILP/HTTP request atomically only when it touches a single
 * table (docs: ingestion/ilp/overview "HTTP transaction semantics"; questdb#4110): a request
 * with one bad line stores none of its rows and answers 400 with the parse error. A batch
 * split into several requests is not atomic as a whole; when one fails the write rejects, the
 * batch is written again, and DEDUP UPSERT KEYS(ts, series) turn the re-sent rows into no-ops.
 *
 * No retries here: a failure rejects with a NovaError whose `retriable` says whether waiting
 * helps (unreachable, timeout, 5xx, 429, 408: yes; any other 4xx or an unencodable sample:
 * no), and the caller's policy decides (the worker's storeUntilDone, streams/store-retry.ts).
 */
export class QuestDbSampleStore implements SampleStore<IlpRows> {
  private readonly encoder: SampleLineEncoder;
  // Request bodies are written into reused memory (see ChunkMemory) and given back by `release`.
  private readonly memory = new ChunkMemory();
  private readonly url: string;
  private readonly where: string;
  private readonly opts: Required<QuestDbSampleStoreOptions>;
  // node:http with kept-alive connections, not fetch: fetch (undici) turned each request's
  // string body into a web stream, and the worker's profile put ~13 % of its CPU there.
  private readonly agent = new Agent({ keepAlive: true });
  private closed = false;
  // Settles once QuestDB was seen to accept ILP protocol version 2; cleared when it could not be asked.
  private serverChecked: Promise<void> | undefined;

  constructor(config: Config, opts: QuestDbSampleStoreOptions = {}) {
    this.opts = { ...DEFAULTS, ...opts };
    this.encoder = new SampleLineEncoder(questdbTable(config, SAMPLE_TABLES.vm), questdbTable(config, SAMPLE_TABLES.host), this.opts.maxRequestBytes, this.memory);
    const host = config.questdb.host.includes(':') ? `[${config.questdb.host}]` : config.questdb.host;
    this.where = `${host}:${config.questdb.httpPort}`;
    this.url = `http://${this.where}/write?precision=${ILP_PRECISION}`;
  }

  encode(samples: readonly Sample[]): IlpRows {
    return { rows: samples.length, chunks: this.encoder.encode(samples) };
  }

  merge(parts: readonly IlpRows[]): IlpRows {
    let rows = 0;
    for (const p of parts) rows += p.rows;
    return { rows, chunks: mergeChunks(parts.flatMap((p) => p.chunks), this.opts.maxRequestBytes, this.memory) };
  }

  release({ chunks }: IlpRows): void {
    for (const c of chunks) this.memory.give(c.body);
  }

  write(samples: readonly Sample[]): Promise<void> {
    return writeSamples(this, samples);
  }

  /**
   * Checks once that the server takes what this store writes: ILP protocol version 2 (binary
   * DOUBLEs), i.e. QuestDB 9.0 or later, read from `line.proto.support.versions` in its
   * /settings. An older QuestDB would refuse every row (or, worse, read the bytes as text), so
   * it is named with its version instead: STORE_QUESTDB_UNSUPPORTED, not retriable. A server
   * that cannot be asked now (down, slow) is not judged: the error is retriable and the next
   * write asks again. Every write waits for the answer; the worker also asks at start.
   */
  checkServer(): Promise<void> {
    this.serverChecked ??= this.askServer().catch((err: unknown) => {
      this.serverChecked = undefined;
      throw err;
    });
    return this.serverChecked;
  }

  private async askServer(): Promise<void> {
    const url = `http://${this.where}/settings`;
    const { status, text, brokenAfterHead } = await this.exchange('GET', url, undefined, this.opts.requestTimeoutMs, 'settings');
    // Unlike a write's answer, a settings body cut short says nothing: ask again later.
    if (brokenAfterHead) throw this.transportError(brokenAfterHead, 'settings', this.opts.requestTimeoutMs);
    if (isRetriableStatus(status)) {
      throw new NovaError(`STORE_HTTP_${status}`, `QuestDB at ${this.where} could not answer ${url} now (HTTP ${status}); asked again before the next write`, { retriable: true });
    }
    let settings: { config?: Record<string, unknown> } | undefined;
    try {
      settings = status === 200 ? (JSON.parse(text) as typeof settings) : undefined;
    } catch {
      settings = undefined;
    }
    const config = settings?.config ?? {};
    const versions = Array.isArray(config['line.proto.support.versions']) ? (config['line.proto.support.versions'] as unknown[]) : [1];
    if (versions.includes(ILP_PROTOCOL_VERSION)) return;
    const release = typeof config['release.version'] === 'string' ? `QuestDB ${config['release.version']}` : status === 200 ? 'a QuestDB that does not name its version' : `a server that answered HTTP ${status} to /settings (QuestDB older than 7.4, or not QuestDB)`;
    throw new NovaError(
      'STORE_QUESTDB_UNSUPPORTED',
      `${release} at ${this.where} takes ILP protocol version(s) ${versions.join(', ')}, and the worker writes version ${ILP_PROTOCOL_VERSION} (binary DOUBLEs), which needs QuestDB 9.0 or later: upgrade QuestDB (the stack and docker-compose.yml run 9.3.2) or point QUESTDB_HOST / QUESTDB_HTTP_PORT at one`,
      { retriable: false, details: { versions, status } },
    );
  }

  async writeEncoded({ chunks }: IlpRows): Promise<void> {
    if (this.closed) throw new NovaError('STORE_CLOSED', 'the QuestDB sample store was closed; create a new one to write');
    if (chunks.length === 0) return;
    await this.checkServer();
    let next = 0;
    let failing = false;
    const lane = async (): Promise<void> => {
      while (!failing && next < chunks.length) {
        try {
          await this.post(chunks[next++]!);
        } catch (err) {
          failing = true;
          throw err;
        }
      }
    };
    // After a failure no lane starts another request; the write rejects once the requests
    // in flight have ended (Promise.all would reject while they still run).
    const results = await Promise.allSettled(Array.from({ length: Math.min(this.opts.maxInFlight, chunks.length) }, lane));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async post(chunk: IlpChunk): Promise<void> {
    const timeoutMs = this.opts.requestTimeoutMs + Math.ceil((chunk.body.length / this.opts.minThroughputBps) * 1000);
    // A failure after the head: the status alone decides what it means.
    const { status, text } = await this.exchange('POST', this.url, chunk.body, timeoutMs, chunk);
    if (status === 204) return;
    throw this.httpError(status, text, chunk);
  }

  /**
   * One HTTP request to QuestDB over the kept-alive agent, answered within `timeoutMs` (head and
   * body) or destroyed: its status and body (at most 1 MiB kept: QuestDB's answers are small),
   * and the error when the answer broke off after its head. No answer at all rejects with
   * `transportError` (retriable).
   */
  private exchange(method: 'GET' | 'POST', url: string, body: Buffer | undefined, timeoutMs: number, asked: IlpChunk | 'settings'): Promise<{ status: number; text: string; brokenAfterHead?: Error }> {
    return new Promise((resolve, reject) => {
      const headers = body ? { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length } : {};
      const req = request(url, { method, agent: this.agent, headers }, (res) => {
        const status = res.statusCode ?? 0;
        // A 204 has no body; any other answer's body is QuestDB's reason or its settings.
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (d: Buffer) => {
          if ((size += d.length) <= 1 << 20) parts.push(d);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status, text: Buffer.concat(parts).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          if (status) resolve({ status, text: '', brokenAfterHead: err });
          else reject(this.transportError(err, asked, timeoutMs));
        });
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(this.transportError(err, asked, timeoutMs));
      });
      req.end(body);
    });
  }

  /** `asked`: what was asked of QuestDB, for the message (a chunk's write, or its settings). */
  private transportError(cause: unknown, asked: IlpChunk | 'settings', timeoutMs: number): NovaError {
    const details = asked === 'settings' ? { asked } : { table: asked.table, rows: asked.rows, bytes: asked.body.length };
    if ((cause as Error)?.name === 'TimeoutError') {
      const what = asked === 'settings' ? 'a request for its /settings' : `a write of ${asked.rows} rows to ${asked.table}`;
      return new NovaError('STORE_TIMEOUT', `QuestDB at ${this.where} did not answer ${what} within ${timeoutMs} ms; it may be overloaded or stalled (see its log)`, { retriable: true, cause, details });
    }
    // No HTTP answer came back: the server is down, unreachable or dropped the connection.
    const failure = classifyStoreError(cause);
    const code = failure.code.startsWith('STORE_UNREACHABLE') ? failure.code : 'STORE_UNREACHABLE';
    const reason = (cause as { cause?: Error })?.cause?.message ?? failure.message;
    return new NovaError(code, `cannot reach QuestDB at ${this.where} (${reason}); is it running? (./novacron stack up, or QUESTDB_HOST / QUESTDB_HTTP_PORT)`, { retriable: true, cause, details });
  }

  private httpError(status: number, body: string, chunk: IlpChunk): NovaError {
    // QuestDB answers a refused write with JSON: {"code":"invalid","message":"...","line":N,"errorId":"..."}.
    let said: { message?: unknown; line?: unknown; errorId?: unknown } = {};
    try {
      said = JSON.parse(body) as typeof said;
    } catch {
      said = { message: body.slice(0, 500) };
    }
    const message = typeof said.message === 'string' && said.message ? said.message : `HTTP ${status}`;
    const details = { status, table: chunk.table, rows: chunk.rows, line: said.line, errorId: said.errorId };
    if (isRetriableStatus(status)) {
      return new NovaError(`STORE_HTTP_${status}`, `QuestDB at ${this.where} could not take ${chunk.rows} rows for ${chunk.table} now (HTTP ${status}: ${message}); the write can be retried`, { retriable: true, details });
    }
    const where = typeof said.line === 'number' ? ` (line ${said.line} of the request)` : '';
    return new NovaError(`STORE_HTTP_${status}`, `QuestDB refused ${chunk.rows} rows for ${chunk.table}${where}: ${message}. No row of that request was stored; retrying will not help: check the table's columns against streams/tables.ts and the sample's values`, { retriable: false, details });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.agent.destroy();
  }
}
