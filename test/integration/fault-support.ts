// Shared by the fault tests: streams workers as child processes (so they can be killed), a
// recording fleet source (so the test knows every key it produced), and the exactly-once check
// (row count and a checksum of the keys read back from QuestDB against what was produced).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT, questdbTable, type Config, type QuestDbClient } from '../../core/index.ts';
import type { FleetSource, FleetTick } from '../../ingest/index.ts';
import { isolatedConfig } from './harness.ts';
import { dropSampleTables } from '../../streams/index.ts';
import { workerProcessArgs } from '../../cli/worker-launch.ts';

/** An isolated config plus the environment that gives a child process the same config. */
export function isolatedEnv(extra: Record<string, string> = {}): { config: Config; env: Record<string, string> } {
  const id = randomBytes(4).toString('hex');
  const env = { NOVACRON_TOPIC_PREFIX: `t${id}`, NOVACRON_TABLE_PREFIX: `t${id}_`, NOVACRON_LOG_LEVEL: process.env.NOVACRON_LOG_LEVEL ?? 'warn', ...extra };
  return { config: isolatedConfig(env), env };
}

/** A `novacron worker` process: the CLI, exactly as an operator runs it. */
export class WorkerProcess {
  readonly child: ChildProcess;
  private output = '';
  private readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;
  signal: NodeJS.Signals | null = null;

  constructor(readonly name: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, workerProcessArgs(), {
      cwd: PROJECT_ROOT,
      // Metrics off: several workers (and other tests' workers) would fight over the one port.
      env: { ...process.env, NOVACRON_WORKER_METRICS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
      resolve(code);
    }));
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Last output lines, for failure messages. */
  tail(lines = 30): string {
    return `--- ${this.name} (pid ${this.child.pid}) ---\n${this.output.trimEnd().split('\n').slice(-lines).join('\n')}`;
  }

  /** Resolves once the worker said it consumes (it joined the group), or throws with its output. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes('worker: consuming')) {
      if (!this.alive) throw new Error(`${this.name} exited (${this.exitCode ?? this.signal}) before consuming\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not start consuming within ${timeoutMs} ms\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** `kill -9`: no shutdown hook runs, the uncommitted batch stays uncommitted. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a clean stop), then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) await this.kill9();
  }
}

/** Stops every worker, whatever state the test left them in. */
export async function stopAll(workers: readonly (WorkerProcess | undefined)[]): Promise<void> {
  await Promise.all(workers.map((w) => w?.stop()));
}

/** Keys of what a fleet source produced: `vm_id|ts` and `host_id|ts`, one per sample sent. */
export interface ProducedKeys {
  vm: string[];
  host: string[];
}

/** Wraps a fleet source so every tick it hands out is recorded (the source of truth for the check). */
export function recording(source: FleetSource): { source: FleetSource; produced: ProducedKeys } {
  const produced: ProducedKeys = { vm: [], host: [] };
  const wrapped: FleetSource = {
    hosts: source.hosts,
    vms: source.vms,
    stepMs: source.stepMs,
    steps: source.steps,
    tick(step: number, ts: number): FleetTick {
      const tick = source.tick(step, ts);
      for (const v of tick.vms) produced.vm.push(`${v.vmId}|${v.ts}`);
      for (const h of tick.hosts) produced.host.push(`${h.hostId}|${h.ts}`);
      return tick;
    },
  };
  return { source: wrapped, produced };
}

/** Order-independent checksum of a multiset of keys: sum of 64-bit hashes, mod 2^64. */
export function keyChecksum(keys: Iterable<string>): string {
  let sum = 0n;
  for (const k of keys) sum = (sum + createHash('sha1').update(k).digest().readBigUInt64BE(0)) & 0xffff_ffff_ffff_ffffn;
  return sum.toString(16).padStart(16, '0');
}

export interface StoredKeys {
  count: number;
  distinct: number;
  checksum: string;
}

/** Keys of every row of a sample table (`vm` or `host`), read from QuestDB once WAL is applied. */
export async function storedKeys(questdb: QuestDbClient, config: Config, kind: 'vm' | 'host'): Promise<StoredKeys> {
  const table = questdbTable(config, kind === 'vm' ? 'vm_samples' : 'host_samples');
  await questdb.waitForWalApplied(table, 60_000);
  const id = kind === 'vm' ? 'vm_id' : 'host_id';
  const rows = await questdb.query<{ id: string; us: string }>(`select ${id} id, cast(ts as long) us from ${table}`);
  const keys = rows.map((r) => `${r.id}|${Number(BigInt(r.us) / 1000n)}`);
  return { count: keys.length, distinct: new Set(keys).size, checksum: keyChecksum(keys) };
}

/** What the producer sent, in the same shape (duplicates the producer sent itself count once: the key is the identity). */
export function expectedKeys(keys: readonly string[]): StoredKeys {
  const distinct = new Set(keys);
  return { count: distinct.size, distinct: distinct.size, checksum: keyChecksum(distinct) };
}

/** Row count of a sample table right now (0 before it exists). */
export async function rowCount(questdb: QuestDbClient, config: Config, kind: 'vm' | 'host'): Promise<number> {
  const table = questdbTable(config, kind === 'vm' ? 'vm_samples' : 'host_samples');
  const rows = await questdb.query<{ n: string }>(`select count() n from ${table}`).catch(() => [{ n: '0' }]);
  return Number(rows[0]?.n ?? 0);
}

/** Drops the test's tables (best effort: cleanup must not hide the test's own failure). */
export async function dropTables(questdb: QuestDbClient, config: Config): Promise<void> {
  await dropSampleTables(config, questdb).catch(() => undefined);
}

/** Under CI a missing prerequisite fails the test; elsewhere the test is skipped with the reason. */
export function missingPrerequisite(reason: string): string | false {
  if (process.env.CI === 'true') throw new Error(`prerequisite missing under CI: ${reason}`);
  return reason;
}

/** True when nothing listens on 127.0.0.1:port and we may bind it. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port from `first` (stepping by `step`) where base + each offset is free: private
 * servers of concurrent test runs must not collide with each other or the shared stack.
 */
export async function freePortBase(first: number, offsets: readonly number[], step = 20): Promise<number> {
  for (let base = first; base < first + 200 * step; base += step) {
    const free = await Promise.all(offsets.map((o) => portFree(base + o)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no free ports from ${first} on`);
}

/** A fresh temp folder for a private server's home; removed by the caller's cleanup. */
export function tempHome(name: string): string {
  return mkdtempSync(join(tmpdir(), `novacron-${name}-`));
}

/** Removes a temp home, whatever is in it. */
export function removeHome(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
