import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const gzipAsync = promisify(gzip);
/** How the API compresses an answer (level 6, in libuv's thread pool). */
export const gzipAnswer = (body: string): Promise<Buffer> => gzipAsync(body, { level: 6 });

/** Default longest age of a cached read answer (NOVACRON_API_CACHE_MS). */
export const DEFAULT_READ_CACHE_MS = 2_000;
/** Default longest age of a cached forecast band (NOVACRON_API_FORECAST_CACHE_MS): the model works on 5-minute steps. */
export const DEFAULT_FORECAST_CACHE_MS = 60_000;
const MAX_ENTRIES = 20_000;
/**
 * Longest age of an answer cut from a stored plan (its rightsizing and load-after pages): a
 * saved plan is never changed, so this bounds memory turnover, not staleness.
 */
export const STORED_ANSWER_TTL_MS = 600_000;
/** Memory the cached answers of one kind may hold (bodies and their gzip forms), bytes. */
export const READ_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** How many entries and bytes a ReadCache may hold; the oldest inserted go first past either. */
export interface ReadCacheLimits<T> {
  maxEntries?: number;
  /** With sizeOf: the bytes all values may hold together. */
  maxBytes?: number;
  /** A value's size in bytes, measured once when it is stored. */
  sizeOf?: (value: T) => number;
}

interface Entry<T> {
  value?: T;
  /** sizeOf(value) when it was stored. */
  bytes?: number;
  /** When the load that produced `value` started: the age of what it says is measured from there. */
  loadedAt: number;
  pending?: Promise<T>;
}

/**
 * Values every caller sees alike, kept for at most `ttlMs` (measured from when their load
 * started, so nothing served is older than that). Concurrent misses of one key share one load;
 * past half the TTL the next read starts a refresh in the background and is still answered from
 * memory, so a busy key never makes its callers wait. invalidate() forgets everything at once,
 * and a load that started before it is not kept. Failed loads are not cached. ttlMs 0 = no cache.
 */
export class ReadCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private generation = 0;
  private bytes = 0;

  constructor(
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly limits: ReadCacheLimits<T> = {},
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = this.now();
    const e = this.entries.get(key);
    if (e?.value !== undefined && now - e.loadedAt < this.ttlMs) {
      if (!e.pending && now - e.loadedAt >= this.ttlMs / 2) void this.start(key, e, load);
      return Promise.resolve(e.value);
    }
    if (e?.pending) return e.pending;
    return this.start(key, e ?? this.add(key, now), load);
  }

  /** The age in ms of what get(key) would answer from memory now, or undefined. */
  age(key: string): number | undefined {
    const e = this.entries.get(key);
    return e?.value === undefined ? undefined : this.now() - e.loadedAt;
  }

  /** Forgets every value: the next read of each key loads it again. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes the stored values hold (0 without sizeOf). */
  get heldBytes(): number {
    return this.bytes;
  }

  private add(key: string, now: number): Entry<T> {
    // Bounded: the oldest inserted key goes first (ids a caller makes up cannot grow it without end).
    if (this.entries.size >= (this.limits.maxEntries ?? MAX_ENTRIES)) this.remove(this.entries.keys().next().value!);
    const e: Entry<T> = { loadedAt: now };
    this.entries.set(key, e);
    return e;
  }

  private remove(key: string): void {
    this.bytes -= this.entries.get(key)?.bytes ?? 0;
    this.entries.delete(key);
  }

  private store(key: string, e: Entry<T>, value: T, loadedAt: number): void {
    const { sizeOf, maxBytes } = this.limits;
    const bytes = sizeOf ? sizeOf(value) : 0;
    if (maxBytes !== undefined && bytes > maxBytes) {
      // Answered to its callers, not kept: it alone would push everything else out.
      this.remove(key);
      return;
    }
    this.bytes += bytes - (e.bytes ?? 0);
    Object.assign(e, { value, bytes, loadedAt, pending: undefined });
    if (maxBytes === undefined) return;
    // Oldest inserted first, as for the entry count.
    for (const k of this.entries.keys()) {
      if (this.bytes <= maxBytes) break;
      if (k !== key) this.remove(k);
    }
  }

  private start(key: string, e: Entry<T>, load: () => Promise<T>): Promise<T> {
    const gen = this.generation;
    const startedAt = this.now();
    const p = load().then(
      (value) => {
        if (gen === this.generation && this.entries.get(key) === e) this.store(key, e, value, startedAt);
        return value;
      },
      (err: unknown) => {
        if (e.pending === p) e.pending = undefined;
        if (e.value === undefined && this.entries.get(key) === e) this.remove(key);
        throw err;
      },
    );
    // Waiters get the rejection; a load nobody waits for must not be an unhandled one.
    p.catch(() => undefined);
    e.pending = p;
    return p;
  }
}

/** A serialized 200 answer, as sent, and its gzip form once a caller asked for it. */
interface CachedAnswer {
  /** The JSON as sent; undefined when the handler itself sent it compressed (gzip is then set). */
  body?: string;
  contentType: string;
  gzip?: Promise<Buffer>;
  /** Length of a handler's own gzip answer (for the byte budget). */
  gzipBytes?: number;
}

/**
 * Bytes a cached answer holds: its body (one byte a character: JSON here is ASCII, V8 keeps it
 * one-byte) and room for its gzip form, which is added later, once asked for (JSON compresses
 * at least 4:1 at level 6).
 */
const answerBytes = (a: CachedAnswer): number => (a.body === undefined ? a.gzipBytes ?? 0 : Math.ceil(a.body.length * 1.25));

/** Answers smaller than this are sent as they are: compressing them saves less than it costs. */
const GZIP_MIN_BYTES = 1024;
const acceptsGzip = (req: FastifyRequest): boolean => /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
/** Whether an answer of this many characters goes compressed to this caller. */
export const sendsGzip = (req: FastifyRequest, chars: number): boolean => chars >= GZIP_MIN_BYTES && acceptsGzip(req);

const LOADING = Symbol('novacron.readCache.loading');
/** Why a load was not cached (an error answer, a stream): shared, no stack trace to capture per request. */
const NOT_CACHED = Object.freeze({ reason: 'not cached' });
type Marked = FastifyRequest & { [LOADING]?: { resolve: (a: CachedAnswer) => void; reject: (e: unknown) => void } };

export interface ReadCacheOptions {
  /** Longest age of a cached answer, ms; 0 turns the cache off. */
  ttlMs: number;
  /** Longest age of a cached forecast band, ms. */
  forecastTtlMs: number;
}

/**
 * How long a route whose pages are cut from a list kept in memory (/v1/hosts, /v1/vms: see
 * cli/api-deps.ts) keeps that list: half the read TTL, its pages' answers the other half, so an
 * answer is never older than the TTL either.
 */
export const pagedListTtlMs = (readTtlMs: number): number => Math.floor(readTtlMs / 2);

/**
 * GET routes whose answer is the same for every caller allowed to call them (viewer reads of
 * shared fleet state). Routes answering about the caller (whoami, keys) are never listed.
 * /v1/hosts and /v1/vms also keep their data whole where it is read (cli/api-deps.ts), one store
 * read per TTL however many pages are asked; here each page is serialized and compressed once.
 */
export const CACHED_READ_ROUTES: Readonly<Record<string, 'read' | 'page' | 'forecast' | 'stored'>> = Object.freeze({
  '/v1/recommendations': 'read',
  '/v1/plans': 'read',
  '/v1/plans/:id': 'read',
  // Pages of a saved plan, which is never changed (its execution is another route's answer):
  // kept STORED_ANSWER_TTL_MS and not cleared by writes. Refreshing hundreds of such pages every
  // TTL took half the API's CPU (and PostgreSQL's) at 5,000 req/s for nothing.
  '/v1/plans/:id/rightsizing': 'stored',
  '/v1/plans/:id/load-after': 'stored',
  '/v1/hosts': 'page',
  '/v1/vms': 'page',
  '/v1/anomalies': 'read',
  '/v1/savings': 'read',
  '/v1/vms/:vmId/forecast': 'forecast',
});

/**
 * Serves the listed read routes' 200 answers from memory, serialized once: the handler (store
 * reads and JSON serialization) runs once per key and TTL, not per request. The key is the
 * request URL (path and query); authentication and validation still run for every request
 * (the hooks sit after them). Any write through this API (a non-GET /v1 request that did not
 * fail with 5xx) clears the cache, so what this process changes is visible at once; changes made
 * elsewhere (the planner, the executor, the CLI, another API process) show within the TTL.
 * Must be registered before the routes.
 */
export function registerReadCache(app: FastifyInstance, opts: ReadCacheOptions): void {
  if (opts.ttlMs <= 0) return;
  const limits: ReadCacheLimits<CachedAnswer> = { maxBytes: READ_CACHE_MAX_BYTES, sizeOf: answerBytes };
  const caches = {
    read: new ReadCache<CachedAnswer>(opts.ttlMs, Date.now, limits),
    page: new ReadCache<CachedAnswer>(opts.ttlMs - pagedListTtlMs(opts.ttlMs), Date.now, limits),
    forecast: new ReadCache<CachedAnswer>(Math.max(opts.ttlMs, opts.forecastTtlMs), Date.now, limits),
    stored: new ReadCache<CachedAnswer>(Math.max(opts.ttlMs, STORED_ANSWER_TTL_MS), Date.now, limits),
  };
  /** What writes through this API can change: everything but the pages of saved plans. */
  const changeable = [caches.read, caches.page, caches.forecast];

  app.addHook('onRoute', (route) => {
    const kind = CACHED_READ_ROUTES[route.url];
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!kind || !methods.includes('GET')) return;
    const cache = caches[kind];
    const preHandler = async (req: FastifyRequest, reply: FastifyReply) => {
      const r = req as Marked;
      const answered = cache.get(req.url, () => new Promise<CachedAnswer>((resolve, reject) => {
        // This request runs the handler; onSend hands its serialized answer to the cache.
        r[LOADING] = { resolve, reject };
      }));
      // This request is the load (a miss, or a refresh past half the TTL): it runs the handler.
      if (r[LOADING]) return undefined;
      let answer: CachedAnswer;
      try {
        answer = await answered;
      } catch {
        return undefined; // the shared load failed: this request tries on its own
      }
      void reply.header('vary', 'accept-encoding');
      if (answer.body === undefined) {
        // Only the handler's compressed answer is kept (a settled plan: api/plans.ts): a caller
        // that does not accept gzip gets the handler's plain answer instead.
        if (!acceptsGzip(req)) return undefined;
        return reply.code(200).type(answer.contentType).header('content-encoding', 'gzip').send(await answer.gzip);
      }
      if (sendsGzip(req, answer.body.length)) {
        // Compressed once per cached answer (in libuv's thread pool), then sent as often as asked.
        answer.gzip ??= gzipAnswer(answer.body);
        const zipped = await answer.gzip.catch(() => undefined);
        if (zipped) return reply.code(200).type(answer.contentType).header('content-encoding', 'gzip').send(zipped);
      }
      return reply.code(200).type(answer.contentType).send(answer.body);
    };
    route.preHandler = [...(route.preHandler ? (Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]) : []), preHandler];
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const loading = (req as Marked)[LOADING];
    if (!loading) return payload;
    (req as Marked)[LOADING] = undefined;
    void reply.header('vary', 'accept-encoding');
    const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8');
    if (reply.statusCode === 200 && Buffer.isBuffer(payload) && reply.getHeader('content-encoding') === 'gzip') {
      // A handler that keeps its own compressed answer (a settled plan): kept as it is, so the
      // route is served from here too rather than running its handler for every request.
      loading.resolve({ contentType, gzip: Promise.resolve(payload), gzipBytes: payload.length });
      return payload;
    }
    if (reply.statusCode !== 200 || typeof payload !== 'string') {
      loading.reject(NOT_CACHED);
      return payload;
    }
    const answer: CachedAnswer = { body: payload, contentType };
    loading.resolve(answer);
    // The request that loaded the answer is compressed like the ones served from memory: when
    // many URLs each get few requests (one per plan), most requests are loads.
    if (!sendsGzip(req, payload.length)) return payload;
    answer.gzip = gzipAnswer(payload);
    const zipped = await answer.gzip.catch(() => undefined);
    if (!zipped) return payload;
    void reply.header('content-encoding', 'gzip');
    return zipped;
  });
  // A request that never reached onSend (client gone) must not leave its waiters hanging.
  app.addHook('onResponse', async (req) => {
    (req as Marked)[LOADING]?.reject(new Error('not cached: no answer'));
  });
  app.addHook('onRequestAbort', async (req) => {
    (req as Marked)[LOADING]?.reject(new Error('not cached: request aborted'));
  });

  // Cleared in onSend, before the write's answer leaves: a caller that reads right after its
  // write returns (approve, then list plans) must not be answered from before the write.
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method === 'GET' || req.method === 'HEAD' || reply.statusCode >= 500) return payload;
    const path = req.url.split('?')[0] ?? '';
    if (path.startsWith('/v1/')) {
      for (const cache of changeable) cache.invalidate();
    }
    return payload;
  });
}
