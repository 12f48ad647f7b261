import { setTimeout as sleep } from 'node:timers/promises';
import { NovaError } from '../core/index.ts';
import type { DomainInfo, DomainStats, Hypervisor, MigrateOptions, MigrationProgress, MigrationResult } from './hypervisor.ts';
import { cancelledBeforeStart, checkMigrateOptions, superviseMigration, type RunningMigration } from './migration-job.ts';
import { domainStateName, toDomainStats, toMigrationProgress, type RawDomainStats } from './virsh-output.ts';
import { positiveInteger } from './virsh.ts';

// libvirt's C API (libvirt.so.0, from Debian's libvirt0, which virsh needs too) called through
// koffi. Threading: every call that may talk to a daemon runs with koffi's `.async`, i.e. on
// one of libuv's worker threads (UV_THREADPOOL_SIZE, 4 by default, shared with fs and dns), so
// the event loop never blocks; a migration holds one such thread for its whole length.
// libvirt keeps its last error per thread, so errors are read from the connection
// (virConnCopyLastError) and calls on one connection are serialized so the error read is the
// call's own. A migration runs on a connection of its own, so progress and abort calls on the
// main connection are not queued behind it. Measured here: with 4 blocking calls in flight a
// fifth call, and any fs read of the process, waits until one returns; so at most
// UV_THREADPOOL_SIZE - 2 migrations run at once per process (the others wait for a slot before
// their timeout starts), which keeps threads free for progress, aborts and the process's I/O.

type Ptr = bigint;
type Koffi = typeof import('koffi');
type Fn = ReturnType<ReturnType<Koffi['load']>['func']>;

interface Libvirt {
  koffi: Koffi;
  fns: Record<string, Fn>;
  /** The message libvirt last reported through the global handler (for failed opens, which have no connection). */
  lastGlobalError: string;
}

const VIR_ERR_NO_DOMAIN = 42;
const VIR_DOMAIN_AFFECT_LIVE = 1;
const VIR_MIGRATE_LIVE = 1;
const VIR_MIGRATE_PERSIST_DEST = 8;
const VIR_MIGRATE_UNDEFINE_SOURCE = 16;
// state, cpu-total, balloon, vcpu, interface, block: what `virsh domstats --state --cpu-total
// --balloon --vcpu --interface --block` asks for.
const STATS_GROUPS = 1 | 2 | 4 | 8 | 16 | 32;
const VIR_DOMAIN_JOB_BOUNDED = 1;
const VIR_DOMAIN_JOB_UNBOUNDED = 2;
const VIR_DOMAIN_PAUSED = 3;
const VIR_DOMAIN_SHUTOFF = 5;
const VIR_DOMAIN_PAUSED_MIGRATION = 2;
const TYPED_PARAM_SIZE = 96; // char field[80]; int type; union (8 bytes) value
const ERROR_SIZE = 128; // virError is 80 bytes on LP64; a little room

let loaded: Promise<Libvirt> | undefined;

const THREADPOOL = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4) || 4;
/** Migrations one process runs at once through FFI (see above). */
export const MAX_FFI_MIGRATIONS = Math.max(1, THREADPOOL - 2);
let migrationsRunning = 0;
const migrationQueue: (() => void)[] = [];

/** Waits for a migration slot; rejects with HYPERVISOR_MIGRATION_CANCELLED if the signal fires first. */
async function migrationSlot(signal: AbortSignal | undefined, name: string, uri: string): Promise<() => void> {
  const release = () => {
    migrationsRunning--;
    migrationQueue.shift()?.();
  };
  if (migrationsRunning < MAX_FFI_MIGRATIONS) {
    migrationsRunning++;
    return release;
  }
  await new Promise<void>((resolve, reject) => {
    const go = () => {
      signal?.removeEventListener('abort', onAbort);
      migrationsRunning++;
      resolve();
    };
    const onAbort = () => {
      const i = migrationQueue.indexOf(go);
      if (i >= 0) migrationQueue.splice(i, 1);
      reject(cancelledBeforeStart(name, uri));
    };
    migrationQueue.push(go);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  return release;
}

/** Loads koffi and libvirt.so.0 once per process; throws HYPERVISOR_LIBVIRT_MISSING with what to install. */
export function loadLibvirt(): Promise<Libvirt> {
  loaded ??= (async () => {
    let koffi: Koffi;
    try {
      koffi = (await import('koffi')).default as unknown as Koffi;
    } catch (err) {
      throw new NovaError('HYPERVISOR_LIBVIRT_MISSING', 'the koffi npm package is missing: run npm ci', { cause: err });
    }
    let lib: ReturnType<Koffi['load']>;
    try {
      lib = koffi.load('libvirt.so.0');
    } catch (err) {
      throw new NovaError('HYPERVISOR_LIBVIRT_MISSING', 'libvirt.so.0 could not be loaded: apt-get install libvirt0 (or use the virsh adapter)', { cause: err });
    }
    const decls = [
      'int virInitialize()',
      'void *virConnectOpen(const char *name)',
      'int virConnectClose(void *conn)',
      'int virConnectIsAlive(void *conn)',
      'int virConnCopyLastError(void *conn, void *to)',
      'void virResetError(void *err)',
      'int virNodeGetInfo(void *conn, void *info)',
      'int virConnectListAllDomains(void *conn, _Out_ void **domains, unsigned int flags)',
      'void *virDomainLookupByName(void *conn, const char *name)',
      'int virDomainFree(void *dom)',
      'const char *virDomainGetName(void *dom)',
      'int virDomainGetInfo(void *dom, void *info)',
      'int virDomainGetState(void *dom, _Out_ int *state, _Out_ int *reason, unsigned int flags)',
      'int virDomainCreate(void *dom)',
      'int virDomainShutdown(void *dom)',
      'int virDomainDestroy(void *dom)',
      'int virDomainSuspend(void *dom)',
      'int virDomainResume(void *dom)',
      'int virDomainSetVcpusFlags(void *dom, unsigned int nvcpus, unsigned int flags)',
      'int virDomainSetMemoryFlags(void *dom, unsigned long memory, unsigned int flags)',
      'int virConnectGetAllDomainStats(void *conn, unsigned int stats, _Out_ void **ret, unsigned int flags)',
      'int virDomainListGetStats(void *doms, unsigned int stats, _Out_ void **ret, unsigned int flags)',
      'void virDomainStatsRecordListFree(void *stats)',
      'void *virDomainMigrate3(void *dom, void *dconn, void *params, unsigned int nparams, unsigned int flags)',
      'int virDomainGetJobStats(void *dom, _Out_ int *type, _Out_ void **params, _Out_ int *nparams, unsigned int flags)',
      'int virDomainAbortJob(void *dom)',
      'int virTypedParamsAddString(_Inout_ void **params, _Inout_ int *nparams, _Inout_ int *maxparams, const char *name, const char *value)',
      'int virTypedParamsAddULLong(_Inout_ void **params, _Inout_ int *nparams, _Inout_ int *maxparams, const char *name, unsigned long long value)',
      'void virTypedParamsFree(void *params, int nparams)',
      'int virSetErrorFunc(void *userData, void *handler)',
    ];
    const fns: Record<string, Fn> = {};
    for (const decl of decls) fns[/(\w+)\(/.exec(decl)![1]!] = lib.func(decl);
    const state: Libvirt = { koffi, fns, lastGlobalError: '' };
    fns['virInitialize']!();
    // libvirt prints every error to stderr unless a handler is set; this one keeps the message
    // instead (it runs on the main thread even when the error happens on a worker thread).
    const handlerType = koffi.proto('void virNovaErrorFunc(void *userData, void *error)');
    const handler = koffi.register((_user: unknown, error: Ptr) => {
      state.lastGlobalError = error ? String(koffi.decode(error, 8, 'const char *') ?? '') : '';
    }, koffi.pointer(handlerType));
    fns['virSetErrorFunc']!(null, handler);
    return state;
  })();
  return loaded;
}

function call<T>(fn: Fn, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => fn.async(...args, (err: unknown, res: T) => (err ? reject(err) : resolve(res))));
}

/** Options of the FFI adapter. */
export interface LibvirtFfiOptions {
  /** How often a migration's progress is polled (and a pending abort retried), ms. */
  progressIntervalMs?: number;
  /** How often shutdown() checks whether the domain has stopped, ms. */
  shutdownPollMs?: number;
}

/** Hypervisor reached through libvirt's C library (koffi FFI), one connection per instance. */
export class LibvirtFfiHypervisor implements Hypervisor {
  private conn: Promise<Ptr> | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly progressIntervalMs: number;
  private readonly shutdownPollMs: number;

  constructor(readonly uri: string, options: LibvirtFfiOptions = {}) {
    this.progressIntervalMs = options.progressIntervalMs ?? 1000;
    this.shutdownPollMs = options.shutdownPollMs ?? 250;
  }

  /** Closes the connection (a later call opens a new one). */
  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (conn === undefined) return;
    const c = await conn.catch(() => null);
    if (c !== null) {
      const lv = await loadLibvirt();
      await this.serial(() => call(lv.fns['virConnectClose']!, c));
    }
  }

  async nodeInfo(): Promise<{ cpus: number; memoryBytes: number }> {
    return this.withConn(async (lv, conn) => {
      const buf = Buffer.alloc(64);
      await this.check(lv, conn, await call<number>(lv.fns['virNodeGetInfo']!, conn, buf), 'virNodeGetInfo');
      return { cpus: buf.readUInt32LE(40), memoryBytes: Number(buf.readBigUInt64LE(32)) * 1024 };
    });
  }

  async listDomains(): Promise<DomainInfo[]> {
    return this.withConn(async (lv, conn) => {
      const out: [Ptr | null] = [null];
      const n = await call<number>(lv.fns['virConnectListAllDomains']!, conn, out, 0);
      await this.check(lv, conn, n, 'virConnectListAllDomains');
      const array = out[0]!;
      const doms = n === 0 ? [] : [...new BigUint64Array(lv.koffi.view(array, n * 8))];
      try {
        const result: DomainInfo[] = [];
        for (const dom of doms) result.push(await this.info(lv, conn, dom));
        return result;
      } finally {
        for (const dom of doms) lv.fns['virDomainFree']!(dom);
        if (array) lv.koffi.free(array);
      }
    });
  }

  async domain(name: string): Promise<DomainInfo | null> {
    try {
      return await this.withDomain(name, (lv, conn, dom) => this.info(lv, conn, dom));
    } catch (err) {
      if (err instanceof NovaError && err.code === 'HYPERVISOR_DOMAIN_NOT_FOUND') return null;
      throw err;
    }
  }

  start(name: string): Promise<void> {
    return this.domainCall(name, 'virDomainCreate');
  }

  async shutdown(name: string, timeoutMs: number): Promise<void> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new NovaError('HYPERVISOR_INVALID_ARGUMENT', `shutdown timeoutMs must be a positive number, got ${timeoutMs}`);
    if ((await this.stateOf(name)).state === VIR_DOMAIN_SHUTOFF) return;
    await this.domainCall(name, 'virDomainShutdown');
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { state } = await this.stateOf(name).catch((err: unknown) =>
        err instanceof NovaError && err.code === 'HYPERVISOR_DOMAIN_NOT_FOUND' ? { state: VIR_DOMAIN_SHUTOFF, reason: 0 } : Promise.reject(err),
      );
      if (state === VIR_DOMAIN_SHUTOFF) return;
      if (performance.now() >= deadline) {
        throw new NovaError('HYPERVISOR_SHUTDOWN_TIMEOUT', `${name} on ${this.uri} was asked to shut down but is still ${domainStateName(state)} after ${timeoutMs} ms (its guest may ignore ACPI); retry, or destroy it`, {
          retriable: true,
          details: { uri: this.uri, domain: name, state: domainStateName(state) },
        });
      }
      await sleep(Math.min(this.shutdownPollMs, Math.max(1, deadline - performance.now())));
    }
  }

  destroy(name: string): Promise<void> {
    return this.domainCall(name, 'virDomainDestroy');
  }

  suspend(name: string): Promise<void> {
    return this.domainCall(name, 'virDomainSuspend');
  }

  resume(name: string): Promise<void> {
    return this.domainCall(name, 'virDomainResume');
  }

  async setVcpus(name: string, count: number): Promise<void> {
    positiveInteger(count, 'vCPU count');
    await this.domainCall(name, 'virDomainSetVcpusFlags', count, VIR_DOMAIN_AFFECT_LIVE);
  }

  async setMemory(name: string, bytes: number): Promise<void> {
    positiveInteger(bytes, 'memory bytes');
    await this.domainCall(name, 'virDomainSetMemoryFlags', Math.ceil(bytes / 1024), VIR_DOMAIN_AFFECT_LIVE);
  }

  async domainStats(names?: readonly string[]): Promise<DomainStats[]> {
    if (names !== undefined && names.length === 0) return [];
    return this.withConn(async (lv, conn) => {
      const out: [Ptr | null] = [null];
      const doms: Ptr[] = [];
      try {
        let n: number;
        if (names === undefined) {
          n = await call<number>(lv.fns['virConnectGetAllDomainStats']!, conn, STATS_GROUPS, out, 0);
        } else {
          for (const name of names) doms.push(await this.lookup(lv, conn, name));
          const list = new BigUint64Array(doms.length + 1); // NULL-terminated
          list.set(doms);
          n = await call<number>(lv.fns['virDomainListGetStats']!, Buffer.from(list.buffer), STATS_GROUPS, out, 0);
        }
        await this.check(lv, conn, n, 'domain stats');
        const records = out[0]!;
        try {
          const ptrs = n === 0 ? [] : [...new BigUint64Array(lv.koffi.view(records, n * 8))];
          return ptrs.map((rec) => {
            const view = new DataView(lv.koffi.view(rec, 24));
            const dom = view.getBigUint64(0, true);
            const raw: RawDomainStats = {
              name: String(lv.fns['virDomainGetName']!(dom)),
              fields: readTypedParams(lv, view.getBigUint64(8, true), view.getInt32(16, true)),
            };
            return toDomainStats(raw);
          });
        } finally {
          if (records) lv.fns['virDomainStatsRecordListFree']!(records);
        }
      } finally {
        for (const dom of doms) lv.fns['virDomainFree']!(dom);
      }
    });
  }

  async migrate(name: string, target: Hypervisor, options: MigrateOptions): Promise<MigrationResult> {
    checkMigrateOptions(options);
    if (options.signal?.aborted) throw cancelledBeforeStart(name, this.uri);
    const before = await this.domain(name);
    if (before === null) throw new NovaError('HYPERVISOR_DOMAIN_NOT_FOUND', `no domain named ${name} on ${this.uri}`, { details: { uri: this.uri, domain: name } });
    if (before.state !== 'running' && before.state !== 'paused') {
      throw new NovaError('HYPERVISOR_MIGRATION_FAILED', `${name} on ${this.uri} is ${before.state}: only a running (or paused) domain can be live-migrated`, { details: { uri: this.uri, domain: name, state: before.state } });
    }
    const lv = await loadLibvirt();
    const release = await migrationSlot(options.signal, name, this.uri);
    const start = (): RunningMigration => ({
      finished: this.runMigration(lv, name, target.uri, options),
      progress: () => this.jobProgress(name),
      abort: () => this.domainCall(name, 'virDomainAbortJob'),
      // A thread inside libvirt cannot be stopped from here; aborts are all there is.
      kill: () => undefined,
    });
    try {
      return await superviseMigration(start, options, {
        name,
        sourceUri: this.uri,
        targetUri: target.uri,
        pollMs: this.progressIntervalMs,
        abortGraceMs: 30_000,
        recoverSource: async () => {
          const s = await this.stateOf(name).catch(() => null);
          if (s === null) return null;
          if (s.state === VIR_DOMAIN_PAUSED && s.reason === VIR_DOMAIN_PAUSED_MIGRATION) await this.resume(name).catch(() => undefined);
          return domainStateName((await this.stateOf(name)).state);
        },
        classify: (error) => (error instanceof NovaError ? error : new NovaError('HYPERVISOR_MIGRATION_FAILED', `migration of ${name} to ${target.uri} failed: ${String(error)}`)),
      });
    } finally {
      release();
    }
  }

  /** The migration call itself, on connections of its own (source and target), closed afterwards. */
  private async runMigration(lv: Libvirt, name: string, targetUri: string, options: MigrateOptions): Promise<void> {
    const src = await openConnection(lv, this.uri);
    let dconn: Ptr | undefined;
    let dom: Ptr | undefined;
    const params: [Ptr | null] = [null];
    const nparams: [number] = [0];
    try {
      try {
        dconn = await openConnection(lv, targetUri);
      } catch (err) {
        throw new NovaError('HYPERVISOR_MIGRATION_FAILED', `cannot migrate to ${targetUri}: the target is unreachable (${(err as Error).message})`, { retriable: true, cause: err });
      }
      dom = await this.lookup(lv, src, name);
      const max: [number] = [0];
      if (options.migrateUri !== undefined) lv.fns['virTypedParamsAddString']!(params, nparams, max, 'migrate_uri', options.migrateUri);
      if (options.bandwidthMiBps !== undefined) lv.fns['virTypedParamsAddULLong']!(params, nparams, max, 'bandwidth', options.bandwidthMiBps);
      const flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
      const moved = await call<Ptr | null>(lv.fns['virDomainMigrate3']!, dom, dconn, params[0], nparams[0], flags);
      if (!moved) {
        const e = connError(lv, src);
        throw new NovaError('HYPERVISOR_MIGRATION_FAILED', `migration of ${name} to ${targetUri} failed: ${e.message}`, { details: { libvirtCode: e.code } });
      }
      lv.fns['virDomainFree']!(moved);
    } finally {
      if (params[0]) lv.fns['virTypedParamsFree']!(params[0], nparams[0]);
      if (dom !== undefined) lv.fns['virDomainFree']!(dom);
      if (dconn !== undefined) await call(lv.fns['virConnectClose']!, dconn);
      await call(lv.fns['virConnectClose']!, src);
    }
  }

  private jobProgress(name: string): Promise<MigrationProgress | null> {
    return this.withDomain(name, async (lv, conn, dom) => {
      const type: [number] = [0];
      const params: [Ptr | null] = [null];
      const n: [number] = [0];
      await this.check(lv, conn, await call<number>(lv.fns['virDomainGetJobStats']!, dom, type, params, n, 0), 'virDomainGetJobStats');
      try {
        if (type[0] !== VIR_DOMAIN_JOB_BOUNDED && type[0] !== VIR_DOMAIN_JOB_UNBOUNDED) return null;
        return toMigrationProgress({ type: type[0], fields: readTypedParams(lv, params[0]!, n[0]) });
      } finally {
        if (params[0]) lv.fns['virTypedParamsFree']!(params[0], n[0]);
      }
    });
  }

  private stateOf(name: string): Promise<{ state: number; reason: number }> {
    return this.withDomain(name, async (lv, conn, dom) => {
      const state: [number] = [0];
      const reason: [number] = [0];
      await this.check(lv, conn, await call<number>(lv.fns['virDomainGetState']!, dom, state, reason, 0), 'virDomainGetState');
      return { state: state[0], reason: reason[0] };
    });
  }

  private async info(lv: Libvirt, conn: Ptr, dom: Ptr): Promise<DomainInfo> {
    const buf = Buffer.alloc(40);
    await this.check(lv, conn, await call<number>(lv.fns['virDomainGetInfo']!, dom, buf), 'virDomainGetInfo');
    return { name: String(lv.fns['virDomainGetName']!(dom)), state: domainStateName(buf.readUInt8(0)), vcpus: buf.readUInt16LE(24), memoryBytes: Number(buf.readBigUInt64LE(8)) * 1024 };
  }

  private domainCall(name: string, fn: string, ...args: unknown[]): Promise<void> {
    return this.withDomain(name, async (lv, conn, dom) => {
      await this.check(lv, conn, await call<number>(lv.fns[fn]!, dom, ...args), fn);
    });
  }

  private withDomain<T>(name: string, op: (lv: Libvirt, conn: Ptr, dom: Ptr) => Promise<T>): Promise<T> {
    return this.withConn(async (lv, conn) => {
      const dom = await this.lookup(lv, conn, name);
      try {
        return await op(lv, conn, dom);
      } finally {
        lv.fns['virDomainFree']!(dom);
      }
    });
  }

  private async lookup(lv: Libvirt, conn: Ptr, name: string): Promise<Ptr> {
    const dom = await call<Ptr | null>(lv.fns['virDomainLookupByName']!, conn, name);
    if (!dom) await this.check(lv, conn, -1, 'virDomainLookupByName', name);
    return dom!;
  }

  /** Throws the connection's error, typed, when a call returned -1 (or NULL). */
  private async check(lv: Libvirt, conn: Ptr, rc: number, what: string, domain?: string): Promise<void> {
    if (rc >= 0) return;
    const e = connError(lv, conn);
    const details = { uri: this.uri, call: what, libvirtCode: e.code, ...(domain === undefined ? {} : { domain }) };
    if (e.code === VIR_ERR_NO_DOMAIN) throw new NovaError('HYPERVISOR_DOMAIN_NOT_FOUND', `no such domain on ${this.uri}: ${e.message}`, { details });
    // A dead connection (daemon restarted, transport gone): drop it so the next call reconnects.
    if ((await call<number>(lv.fns['virConnectIsAlive']!, conn)) !== 1) {
      this.conn = undefined;
      throw new NovaError('HYPERVISOR_UNREACHABLE', `lost the connection to ${this.uri}: ${e.message}`, { retriable: true, details });
    }
    throw new NovaError('HYPERVISOR_COMMAND_FAILED', `${what} on ${this.uri} failed: ${e.message}`, { details });
  }

  /** Runs op on this instance's connection, one op at a time (see the note on errors above). */
  private withConn<T>(op: (lv: Libvirt, conn: Ptr) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const lv = await loadLibvirt();
      this.conn ??= openConnection(lv, this.uri);
      const pending = this.conn;
      const conn = await pending.catch((err: unknown) => {
        if (this.conn === pending) this.conn = undefined;
        throw err;
      });
      return op(lv, conn);
    });
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.tail.then(op, op);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

// Opens are serialized process-wide: a failed open has no connection to read its error from,
// only the global handler's last message, which must be this open's.
let openTail: Promise<unknown> = Promise.resolve();

function openConnection(lv: Libvirt, uri: string): Promise<Ptr> {
  const next = openTail.then(async () => {
    lv.lastGlobalError = '';
    const conn = await call<Ptr | null>(lv.fns['virConnectOpen']!, uri);
    if (!conn) {
      throw new NovaError('HYPERVISOR_UNREACHABLE', `cannot connect to ${uri}: ${lv.lastGlobalError || 'virConnectOpen failed'}`, { retriable: true, details: { uri } });
    }
    return conn;
  });
  openTail = next.catch(() => undefined);
  return next;
}

function connError(lv: Libvirt, conn: Ptr): { code: number; message: string } {
  const buf = Buffer.alloc(ERROR_SIZE);
  const code = lv.fns['virConnCopyLastError']!(conn, buf) as number;
  const msgPtr = buf.readBigUInt64LE(8);
  const message = msgPtr ? String(lv.koffi.decode.string(msgPtr)) : lv.lastGlobalError || 'unknown libvirt error';
  lv.fns['virResetError']!(buf);
  return { code: code > 0 ? code : buf.readInt32LE(0), message };
}

/** Decodes an array of virTypedParameter (field, type, value) into a map. */
function readTypedParams(lv: Libvirt, ptr: Ptr, n: number): Map<string, string | number> {
  const out = new Map<string, string | number>();
  if (!ptr || n <= 0) return out;
  const view = new DataView(lv.koffi.view(ptr, n * TYPED_PARAM_SIZE));
  for (let i = 0; i < n; i++) {
    const off = i * TYPED_PARAM_SIZE;
    const field = String(lv.koffi.decode.string(ptr + BigInt(off)));
    const v = off + 88;
    switch (view.getInt32(off + 80, true)) {
      case 1: out.set(field, view.getInt32(v, true)); break;
      case 2: out.set(field, view.getUint32(v, true)); break;
      case 3: out.set(field, Number(view.getBigInt64(v, true))); break;
      case 4: out.set(field, Number(view.getBigUint64(v, true))); break;
      case 5: out.set(field, view.getFloat64(v, true)); break;
      case 6: out.set(field, view.getInt8(v) === 0 ? 0 : 1); break;
      case 7: { const s = view.getBigUint64(v, true); out.set(field, s ? String(lv.koffi.decode.string(s)) : ''); break; }
      default: break;
    }
  }
  return out;
}
