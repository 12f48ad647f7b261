import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Every child process the bench started, so an interrupted run (Ctrl-C) stops exactly those
 * (by pid), and every clean-up step (topics, tables) still to run, newest first.
 */
export class Children {
  private readonly live = new Set<ChildProcess>();
  private readonly cleanups: { name: string; run: () => Promise<void> }[] = [];

  track<T extends ChildProcess>(child: T): T {
    this.live.add(child);
    child.on('exit', () => this.live.delete(child));
    return child;
  }

  /** Registers a clean-up; returns a function that runs it now (once) and forgets it. */
  onCleanup(name: string, run: () => Promise<void>): () => Promise<void> {
    const entry = { name, run };
    this.cleanups.push(entry);
    return async () => {
      const i = this.cleanups.indexOf(entry);
      if (i < 0) return;
      this.cleanups.splice(i, 1);
      await run();
    };
  }

  /** Kills what still runs (SIGINT, then SIGKILL after `graceMs`), then runs every clean-up. */
  async shutdown(graceMs = 10_000): Promise<void> {
    await Promise.all([...this.live].map((c) => stopChild(c, graceMs)));
    for (const entry of this.cleanups.splice(0).reverse()) {
      await entry.run().catch((err: unknown) => process.stderr.write(`bench:ingest: clean-up "${entry.name}" failed: ${(err as Error).message}\n`));
    }
  }
}

/** Asks a child to stop (SIGINT lets `novacron worker` leave its group and flush), then kills it. */
export async function stopChild(child: ChildProcess, graceMs = 20_000, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Resolves with the first stdout line matching `re`; rejects when the child exits first or on timeout. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => re.test(l));
      if (line !== undefined) finish(() => resolve(line));
    };
    const onErr = (d: Buffer) => (err = (err + d.toString()).slice(-4000));
    const onExit = (code: number | null) => finish(() => reject(new Error(`${what} exited (${code}) before it was ready:\n${err}${buf}`.trim())));
    const timer = setTimeout(() => finish(() => reject(new Error(`${what} was not ready within ${timeoutMs / 1000} s:\n${err}${buf}`.trim()))), timeoutMs);
    const finish = (then: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      then();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}

/** Peak resident set of a process in MiB: VmHWM (the kernel's high-water mark), else VmRSS. */
export function peakRssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined; // already gone
  }
}

/**
 * CPU seconds (user + system) a live process has used so far, from /proc/<pid>/stat; undefined
 * when it is gone. Read from outside so the worker needs no bench hook (it is the real CLI).
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces, hence the last ')'): utime is the 14th field, stime the 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: /proc reports CPU time in these ticks; 100 on every Linux build we run on. */
const CLOCK_TICKS = 100;

/** CPU seconds the whole machine has been busy (every core; /proc/stat's first line less idle and iowait), and its core count. */
export function machineBusySeconds(): { busy: number; cores: number } {
  const stat = readFileSync('/proc/stat', 'utf8');
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const cores = (stat.match(/^cpu\d+ /gm) ?? []).length;
  return { busy: (total - fields[3]! - fields[4]!) / CLOCK_TICKS, cores };
}

/** The processes whose CPU the bench accounts for, by role. */
export type CpuRoles = Record<'questdb' | 'kafka' | 'producers' | 'workers', readonly (number | undefined)[]>;

/** Where the machine's CPU went over a window, µs per landed sample; `other` is everything else (the bench itself, the OS). */
export interface CpuBudget {
  questdb: number;
  kafka: number;
  producers: number;
  workers: number;
  other: number;
  /** Share of all cores busy over the window, 0..1. */
  busyShare: number;
  cores: number;
}

/** CPU counters of the roles' processes and of the machine at one instant. */
export function cpuSnapshot(roles: CpuRoles): { at: number; machine: { busy: number; cores: number }; byRole: Record<keyof CpuRoles, number> } {
  const sum = (pids: readonly (number | undefined)[]) => pids.reduce((total: number, pid) => total + (cpuSeconds(pid) ?? 0), 0);
  return { at: performance.now(), machine: machineBusySeconds(), byRole: { questdb: sum(roles.questdb), kafka: sum(roles.kafka), producers: sum(roles.producers), workers: sum(roles.workers) } };
}

/** The budget between two snapshots, for `samples` landed in between. A process that exited in between counts 0 for the window. */
export function cpuBudget(from: ReturnType<typeof cpuSnapshot>, to: ReturnType<typeof cpuSnapshot>, samples: number): CpuBudget {
  const per = (seconds: number) => (samples > 0 ? (seconds * 1e6) / samples : NaN);
  const used = (k: keyof CpuRoles) => Math.max(0, to.byRole[k] - from.byRole[k]);
  const roles = { questdb: used('questdb'), kafka: used('kafka'), producers: used('producers'), workers: used('workers') };
  const busy = to.machine.busy - from.machine.busy;
  const wallS = (to.at - from.at) / 1000;
  return {
    questdb: per(roles.questdb), kafka: per(roles.kafka), producers: per(roles.producers), workers: per(roles.workers),
    other: per(Math.max(0, busy - roles.questdb - roles.kafka - roles.producers - roles.workers)),
    busyShare: wallS > 0 ? busy / (wallS * to.machine.cores) : NaN,
    cores: to.machine.cores,
  };
}

/** Samples the peak RSS of some pids every second; `peak()` is the largest seen per pid. */
export class RssSampler {
  private readonly peakByPid = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: () => (number | undefined)[]) {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  sample(): void {
    for (const pid of this.pids()) {
      const mb = peakRssMb(pid);
      if (pid !== undefined && mb !== undefined) this.peakByPid.set(pid, Math.max(this.peakByPid.get(pid) ?? 0, mb));
    }
  }

  /** Largest peak over the pids (one worker's RSS, the worst one). */
  peak(): number {
    return Math.max(0, ...this.peakByPid.values());
  }

  /** Each pid's peak, in the order the pids were first seen. */
  peaks(): number[] {
    return [...this.peakByPid.values()];
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
