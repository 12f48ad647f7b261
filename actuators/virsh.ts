import { execFile, type ExecFileException } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasCode, NovaError } from '../core/index.ts';
import { migrateArgs } from './commands.ts';
import type { DomainInfo, DomainStats, Hypervisor, MigrateOptions, MigrationResult } from './hypervisor.ts';
import { cancelledBeforeStart, checkMigrateOptions, superviseMigration, type RunningMigration } from './migration-job.ts';
import { JOB_TYPE, parseDomInfos, parseDomStatsRaw, parseJobInfoRaw, parseNameList, parseNodeInfo, toDomainStats, toMigrationProgress, virshQuote } from './virsh-output.ts';

// Why virsh: the npm `libvirt` package (nan) does not compile on Node 20, and `@unraid/libvirt`
// covers lifecycle calls only (no migration, no vcpu/memory changes, no bulk stats). libvirt's
// own CLI covers every call, speaks every URI scheme (test://, qemu://, qemu+ssh://), and runs
// outside our process. The FFI adapter (libvirt-ffi.ts) is the in-process alternative; which one
// is the default, and why, is in hypervisor-factory.ts.

export interface VirshOptions {
  /** The virsh binary; injectable so a missing install can be tested. */
  virshPath?: string;
  /** Per-call limit: a hung SSH transport must not hang a dry run. */
  timeoutMs?: number;
  /** How often a migration's progress is polled (domjobinfo) and a pending abort retried, ms. */
  progressIntervalMs?: number;
  /** How often shutdown() checks whether the domain has stopped, ms. */
  shutdownPollMs?: number;
  /** How long aborts of a timed-out or cancelled migration may take before virsh is stopped, ms. */
  migrationAbortGraceMs?: number;
}

/** The stat groups every domainStats call asks for (state, cpu.time, balloon.*, vcpu.*, block.*, net.*). */
export const DOMSTATS_GROUPS = ['--state', '--cpu-total', '--balloon', '--vcpu', '--block', '--interface'] as const;

// One argv string is capped by the kernel (MAX_ARG_STRLEN = 128 KiB); batches stay well under it.
const MAX_BATCH_CHARS = 64 * 1024;

// virsh 9.0's `migrate` can miss the end of a migration that fails within milliseconds (a
// target that refuses, a driver that cannot migrate) and wait forever without printing the
// error: seen in gdb as its main thread in the job-watch loop (g_main_loop_run) with no
// migration thread left. With the test driver: 1 hang in 100 runs idle, and on the 4th run with
// three busy loops beside it. SIGINT (virsh's own abort) does not end it, so SIGKILL follows.
const VIRSH_SIGKILL_AFTER_MS = 5_000;

/** Hypervisor reached by running `virsh -c <uri> ...` (execFile, no shell). */
export class VirshHypervisor implements Hypervisor {
  private readonly virshPath: string;
  private readonly timeoutMs: number;
  private readonly progressIntervalMs: number;
  private readonly shutdownPollMs: number;
  private readonly migrationAbortGraceMs: number;

  constructor(readonly uri: string, options: VirshOptions = {}) {
    this.virshPath = options.virshPath ?? 'virsh';
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.progressIntervalMs = options.progressIntervalMs ?? 1000;
    this.shutdownPollMs = options.shutdownPollMs ?? 250;
    this.migrationAbortGraceMs = options.migrationAbortGraceMs ?? 30_000;
  }

  async nodeInfo(): Promise<{ cpus: number; memoryBytes: number }> {
    return parseNodeInfo(await this.run(['nodeinfo']));
  }

  async listDomains(): Promise<DomainInfo[]> {
    const names = parseNameList(await this.run(['list', '--all', '--name']));
    const domains: DomainInfo[] = [];
    // One virsh process runs many `dominfo`s (virsh parses a single ';'-separated argument
    // itself), so a qemu+ssh host costs two connections, not one per domain.
    for (const batch of batches(names.map((n) => `dominfo --domain ${virshQuote(n)}`))) {
      domains.push(...parseDomInfos(await this.run([batch.join(' ; ')])));
    }
    // virsh's exit code reflects only the last command of a batch: check that every domain
    // was described, so one that failed (or vanished meanwhile) is never silently dropped.
    const described = domains.map((d) => d.name.trim());
    if (described.length !== names.length || names.some((n, i) => n.trim() !== described[i])) {
      throw new NovaError('HYPERVISOR_COMMAND_FAILED', `the domains of ${this.uri} changed or could not all be described while listing them; retry`, {
        retriable: true,
        details: { uri: this.uri, listed: names, described },
      });
    }
    return domains;
  }

  async domain(name: string): Promise<DomainInfo | null> {
    try {
      const [info] = parseDomInfos(await this.run(['dominfo', '--domain', name]));
      return info ?? null;
    } catch (err) {
      if (hasCode(err, 'HYPERVISOR_DOMAIN_NOT_FOUND')) return null;
      throw err;
    }
  }

  async start(name: string): Promise<void> {
    await this.run(['start', '--domain', name]);
  }

  async shutdown(name: string, timeoutMs: number): Promise<void> {
    positive(timeoutMs, 'shutdown timeoutMs');
    if ((await this.state(name)) === 'shut off') return;
    await this.run(['shutdown', '--domain', name]);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      // A transient domain disappears when it stops; a persistent one stays, shut off.
      const state = await this.state(name).catch((err: unknown) => (hasCode(err, 'HYPERVISOR_DOMAIN_NOT_FOUND') ? 'shut off' : Promise.reject(err)));
      if (state === 'shut off') return;
      if (performance.now() >= deadline) {
        throw new NovaError('HYPERVISOR_SHUTDOWN_TIMEOUT', `${name} on ${this.uri} was asked to shut down but is still ${state} after ${timeoutMs} ms (its guest may ignore ACPI); retry, or destroy it`, {
          retriable: true,
          details: { uri: this.uri, domain: name, state },
        });
      }
      await sleep(Math.min(this.shutdownPollMs, Math.max(1, deadline - performance.now())));
    }
  }

  async destroy(name: string): Promise<void> {
    await this.run(['destroy', '--domain', name]);
  }

  async suspend(name: string): Promise<void> {
    await this.run(['suspend', '--domain', name]);
  }

  async resume(name: string): Promise<void> {
    await this.run(['resume', '--domain', name]);
  }

  async setVcpus(name: string, count: number): Promise<void> {
    positiveInteger(count, 'vCPU count');
    await this.run(['setvcpus', '--domain', name, '--count', String(count), '--live']);
  }

  async setMemory(name: string, bytes: number): Promise<void> {
    positiveInteger(bytes, 'memory bytes');
    // setmem takes KiB; libvirt itself rounds memory up to whole KiB.
    await this.run(['setmem', '--domain', name, '--size', `${Math.ceil(bytes / 1024)}KiB`, '--live']);
  }

  async domainStats(names?: readonly string[]): Promise<DomainStats[]> {
    // `--` ends the options: every later word is a domain name, even one starting with '-'.
    const named = names === undefined ? [] : ['--', ...names];
    if (names !== undefined && names.length === 0) return [];
    return parseDomStatsRaw(await this.run(['domstats', '--raw', ...DOMSTATS_GROUPS, ...named])).map(toDomainStats);
  }

  async migrate(name: string, target: Hypervisor, options: MigrateOptions): Promise<MigrationResult> {
    checkMigrateOptions(options);
    if (options.signal?.aborted) throw cancelledBeforeStart(name, this.uri);
    // Checked first so that a missing domain or an unreachable source gets its own code.
    const before = await this.domain(name);
    if (before === null) throw notFound(name, this.uri);
    if (before.state !== 'running' && before.state !== 'paused') {
      throw new NovaError('HYPERVISOR_MIGRATION_FAILED', `${name} on ${this.uri} is ${before.state}: only a running (or paused) domain can be live-migrated`, { details: { uri: this.uri, domain: name, state: before.state } });
    }
    const argv = migrateArgs(this.uri, name, target.uri, {
      ...(options.migrateUri === undefined ? {} : { migrateUri: options.migrateUri }),
      ...(options.bandwidthMiBps === undefined ? {} : { bandwidthMiBps: options.bandwidthMiBps }),
    });
    const start = (): RunningMigration => {
      let child: ReturnType<typeof execFile> | undefined;
      const finished = new Promise<void>((resolve, reject) => {
        // No execFile timeout: the supervisor owns the time limit and aborts through libvirt,
        // so that the job is cancelled cleanly instead of its client being killed.
        child = execFile(this.virshPath, argv, { maxBuffer: 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } }, (error, _stdout, stderr) =>
          error ? reject(Object.assign(error, { stderr })) : resolve(),
        );
      });
      return {
        finished,
        progress: async () => {
          const job = parseJobInfoRaw(await this.run(['domjobinfo', '--domain', name, '--rawstats']));
          return job.type === JOB_TYPE.bounded || job.type === JOB_TYPE.unbounded ? toMigrationProgress(job) : null;
        },
        abort: async () => {
          await this.run(['domjobabort', '--domain', name]);
        },
        // virsh itself aborts the job it watches on SIGINT; SIGKILL, which leaves that to
        // libvirtd's cleanup, only for a virsh that ignores it (see VIRSH_SIGKILL_AFTER_MS).
        kill: () => {
          child?.kill('SIGINT');
          const hard = setTimeout(() => child?.kill('SIGKILL'), VIRSH_SIGKILL_AFTER_MS);
          void finished.catch(() => undefined).finally(() => clearTimeout(hard));
        },
      };
    };
    return superviseMigration(start, options, {
      name,
      sourceUri: this.uri,
      targetUri: target.uri,
      pollMs: this.progressIntervalMs,
      abortGraceMs: this.migrationAbortGraceMs,
      recoverSource: () => this.recoverAfterFailedMigration(name),
      classify: (error) => this.classifyMigration(error, target.uri),
    });
  }

  /** virsh's word for the domain's state (domstate). */
  private async state(name: string): Promise<string> {
    return (await this.run(['domstate', '--domain', name])).trim();
  }

  private async recoverAfterFailedMigration(name: string): Promise<string | null> {
    const d = await this.domain(name);
    if (d === null) return null;
    // libvirt resumes a source it paused for the switch-over; this covers a job that died between.
    if (d.state === 'paused') {
      const reason = await this.run(['domstate', '--domain', name, '--reason']).catch(() => '');
      if (/migrat/i.test(reason)) {
        await this.resume(name).catch(() => undefined);
        return (await this.domain(name))?.state ?? null;
      }
    }
    return d.state;
  }

  private classifyMigration(error: unknown, targetUri: string): NovaError {
    const stderr = (error as { stderr?: string } | undefined)?.stderr ?? '';
    const lines = stderr.trim().split('\n').filter((l) => l.startsWith('error:')).slice(0, 3).join(' | ') || (error instanceof Error ? error.message : String(error));
    const details = { stderr: stderr.trim() };
    // The source answered just before (domain lookup), so a connection failure is the target's.
    if (/failed to connect to the hypervisor|Failed to connect socket|Cannot recv data|Connection refused|unable to connect/i.test(stderr)) {
      return new NovaError('HYPERVISOR_MIGRATION_FAILED', `cannot migrate to ${targetUri}: the target is unreachable (${lines})`, { retriable: true, details });
    }
    if (/failed to get domain|Domain not found/.test(stderr)) {
      return new NovaError('HYPERVISOR_DOMAIN_NOT_FOUND', `migration failed: ${lines}`, { details });
    }
    return new NovaError('HYPERVISOR_MIGRATION_FAILED', `migration to ${targetUri} failed: ${lines}`, { details });
  }

  /** Runs `virsh -c <uri> <args...>` and returns its stdout, or throws a HYPERVISOR_* error. */
  run(args: string[]): Promise<string> {
    const argv = ['-c', this.uri, ...args];
    return new Promise((resolve, reject) => {
      execFile(
        this.virshPath,
        argv,
        // LC_ALL=C: virsh translates its labels, and the parsers read the English ones.
        { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
        (error, stdout, stderr) => (error ? reject(this.classify(error, stderr, args)) : resolve(stdout)),
      );
    });
  }

  private classify(error: ExecFileException, stderr: string, args: string[]): NovaError {
    const details = { uri: this.uri, command: args.join(' ').slice(0, 200), stderr: stderr.trim() };
    if (error.code === 'ENOENT') {
      return new NovaError('HYPERVISOR_VIRSH_MISSING', `virsh not found at "${this.virshPath}": apt-get install libvirt-clients (or configure the virsh path)`, { cause: error, details });
    }
    if (error.killed) {
      return new NovaError('HYPERVISOR_UNREACHABLE', `virsh -c ${this.uri} did not answer within ${this.timeoutMs} ms; check the host and its transport`, { retriable: true, cause: error, details });
    }
    // virsh's own `error:` lines say what happened; libxml/ssh noise around them does not.
    const lines = stderr.trim().split('\n').filter(Boolean);
    const errorLines = lines.filter((l) => l.startsWith('error:'));
    const firstLines = (errorLines.length > 0 ? errorLines : lines).slice(0, 3).join(' | ');
    if (/failed to connect to the hypervisor/.test(stderr)) {
      return new NovaError('HYPERVISOR_UNREACHABLE', `cannot connect to ${this.uri}: ${firstLines}`, { retriable: true, cause: error, details });
    }
    // virsh's own lookup says "failed to get domain"; libvirt's VIR_ERR_NO_DOMAIN "Domain not found".
    if (/failed to get domain|Domain not found/.test(stderr)) {
      return new NovaError('HYPERVISOR_DOMAIN_NOT_FOUND', `no such domain on ${this.uri}: ${firstLines}`, { cause: error, details });
    }
    return new NovaError('HYPERVISOR_COMMAND_FAILED', `virsh -c ${this.uri} ${args[0]?.split(' ')[0] ?? ''} failed: ${firstLines || `exit ${String(error.code)}`}`, { cause: error, details });
  }
}

function notFound(name: string, uri: string): NovaError {
  return new NovaError('HYPERVISOR_DOMAIN_NOT_FOUND', `no domain named ${name} on ${uri}`, { details: { uri, domain: name } });
}

function positive(value: number, what: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new NovaError('HYPERVISOR_INVALID_ARGUMENT', `${what} must be a positive number, got ${value}`);
}

/** Throws HYPERVISOR_INVALID_ARGUMENT unless value is a positive safe integer. */
export function positiveInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new NovaError('HYPERVISOR_INVALID_ARGUMENT', `${what} must be a positive integer, got ${value}`);
}

function batches(commands: string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const command of commands) {
    if (current.length > 0 && size + command.length + 3 > MAX_BATCH_CHARS) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(command);
    size += command.length + 3;
  }
  if (current.length > 0) out.push(current);
  return out;
}
