import { describeError, NovaError, type Logger, type PgPool } from '../../core/index.ts';
import { loadPlan, type ActionPlan, type HostLoad } from '../../scheduler/index.ts';
import type { HostPower } from '../host-power.ts';
import { isActive, type DomainInfo, type Hypervisor, type HypervisorDirectory, type MigrateOptions } from '../hypervisor.ts';
import { DEFAULT_LIMITS, insideWindow, RunningSlots, type ExecutionLimits } from './limits.ts';
import { busyVms, listExecutions, loadExecution, migrationsStartedSince, runningActions, transitionAction, transitionPlan, withPlanLock, type ActionRow } from './store.ts';
import type { PlanState } from './states.ts';

/** What the executor may read of the fleet's telemetry: to see the world change, and to verify. */
export interface WorldView {
  /** CPU the host uses now (cores), from recent telemetry; undefined when unknown. */
  hostCpu(hostId: string): Promise<number | undefined>;
}

/** Tuning of an executor. */
export interface ExecutorOptions {
  /** This executor's name in the store and the audit trail (e.g. host:pid). */
  owner: string;
  limits: ExecutionLimits;
  /** A migration not done by then is cancelled (the VM keeps running on its source). */
  migrationTimeoutMs: number;
  /** After a move, how long before the target's load is checked against the plan's forecast band. */
  settleMs: number;
  /** How far above the plan's predicted load (its quantile) a host may run before the world counts as changed, or a move is rolled back. */
  loadTolerance: number;
  /** Cluster of a host, for the per-cluster limit (default: one cluster). */
  clusterOf?: (hostId: string) => string;
  /** How long to wait before looking again when the limits or the window hold actions back. */
  waitMs: number;
  /** Address migration data to a host goes over (libvirt's migrateuri), when not libvirt's default. */
  migrateUriFor?: (hostId: string) => string | undefined;
  /** Cap on one migration's bandwidth, MiB/s (so migrations leave the VMs' own traffic room). */
  migrationBandwidthMiBps?: number;
}

export const DEFAULT_EXECUTOR_OPTIONS: Readonly<Omit<ExecutorOptions, 'owner'>> = Object.freeze({
  limits: DEFAULT_LIMITS,
  migrationTimeoutMs: 600_000,
  settleMs: 60_000,
  loadTolerance: 0.25,
  waitMs: 15_000,
});

/** How one action ended, with what it cost the executor beyond the hypervisor's own work. */
export interface ActionOutcome {
  seq: number;
  kind: ActionRow['kind'];
  state: 'succeeded' | 'failed' | 'rolled_back' | 'skipped' | 'approved';
  /** The failure's code (a NovaError's, else EXECUTION_STEP_FAILED), when the step failed. */
  errorCode?: string;
  reason: string;
  /** Wall time of the action, and of the hypervisor call inside it (migration), ms. */
  totalMs: number;
  hypervisorMs: number;
}

/** Dependencies of an executor: the store, the ports, the log. */
export interface ExecutorDeps {
  pool: PgPool;
  hypervisors: HypervisorDirectory;
  hostPower?: HostPower;
  world?: WorldView;
  log: Logger;
  options: ExecutorOptions;
  /** Called after every action with its outcome (progress output, metrics). */
  onAction?: (planId: number, outcome: ActionOutcome) => void;
  /** Stops the executor between actions (a running migration finishes or times out first). */
  signal?: AbortSignal;
}

/** The world changed under the plan: the plan stops, nothing more of it runs. */
class WorldChanged extends Error {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * Carries approved plans out, crash-safe: every step is first recorded as running (with an
 * idempotency key), then done, then verified and recorded; on restart `recover` looks at where
 * each VM really is before deciding, so no completed step is repeated. Plans run wave by wave
 * under the limits; a failed step stops its plan (what succeeded is kept: every prefix of a plan
 * is safe); a move whose target then runs past the forecast band is migrated back.
 */
export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  private get o(): ExecutorOptions {
    return this.deps.options;
  }

  /** Runs every approved or running plan, oldest first; returns how many it ran. */
  async runPending(): Promise<number> {
    const plans = await listExecutions(this.deps.pool, { states: ['approved', 'running'], limit: 1000 });
    let ran = 0;
    for (const p of plans.reverse()) {
      if (this.deps.signal?.aborted) break;
      if ((await this.runPlan(p.planId)) !== undefined) ran++;
    }
    return ran;
  }

  /** Runs the executor as a service: recover, then run pending plans every `waitMs`, until the signal. */
  async serve(): Promise<void> {
    await this.recover();
    while (!this.deps.signal?.aborted) {
      try {
        await this.runPending();
      } catch (err) {
        this.deps.log.error({ err: describeError(err) }, 'executor pass failed; retrying');
      }
      await sleep(this.o.waitMs, this.deps.signal);
    }
  }

  /**
   * Resolves the steps a crashed executor left running, plan by plan (holding each plan's lock):
   * a VM found on its target is a done move; on its source, a move to retry; anywhere else, failed.
   */
  async recover(): Promise<number> {
    const running = await runningActions(this.deps.pool);
    const byPlan = new Map<number, ActionRow[]>();
    for (const a of running) byPlan.set(a.planId, [...(byPlan.get(a.planId) ?? []), a]);
    let resolved = 0;
    for (const [planId, actions] of byPlan) {
      await withPlanLock(this.deps.pool, planId, async () => {
        for (const a of actions) {
          await this.recoverAction(a);
          resolved++;
        }
      });
    }
    return resolved;
  }

  private async recoverAction(a: ActionRow): Promise<void> {
    const actor = `${this.o.owner} (recovery)`;
    if (a.kind === 'power-off') {
      const state = this.deps.hostPower ? await this.deps.hostPower.state(a.hostId!) : 'unknown';
      if (state === 'off') await transitionAction(this.deps.pool, a.planId, a.seq, 'succeeded', actor, `after a restart: host ${a.hostId} is off`, { finished: true });
      else await transitionAction(this.deps.pool, a.planId, a.seq, 'approved', actor, `after a restart: host ${a.hostId} is ${state}; the power-off runs again`);
      return;
    }
    const where = await this.locate(a);
    if (where === 'target') await transitionAction(this.deps.pool, a.planId, a.seq, 'succeeded', actor, `after a restart: ${a.vmId} runs on ${a.toHost}, so the migration completed`, { finished: true });
    else if (where === 'source') await transitionAction(this.deps.pool, a.planId, a.seq, 'approved', actor, `after a restart: ${a.vmId} still runs on ${a.fromHost}; the migration runs again`);
    else await transitionAction(this.deps.pool, a.planId, a.seq, 'failed', actor, `after a restart: ${a.vmId} runs on neither ${a.fromHost} nor ${a.toHost}`, { finished: true, errorCode: 'EXECUTION_VM_LOST', error: `not running on ${a.fromHost} or ${a.toHost}` });
  }

  /**
   * Where a migrating VM runs: on its target, its source, or neither. While a migration is still
   * in flight (an orphaned one survives its executor) both hosts know the domain, so look again
   * until one of them runs it alone.
   */
  private async locate(a: ActionRow): Promise<'target' | 'source' | 'neither'> {
    const from = this.deps.hypervisors.forHost(a.fromHost!);
    const to = this.deps.hypervisors.forHost(a.toHost!);
    const deadline = Date.now() + this.o.migrationTimeoutMs;
    for (;;) {
      const [s, t] = await Promise.all([from.domain(a.vmId!), to.domain(a.vmId!)]);
      const onSource = s !== null && s.state === 'running';
      const onTarget = t !== null && t.state === 'running';
      if (onTarget && !onSource) return 'target';
      if (onSource && (t === null || !isActive(t))) return 'source';
      if (s === null && t === null) return 'neither';
      if (Date.now() > deadline) return onSource ? 'source' : 'neither';
      await sleep(500, this.deps.signal);
    }
  }

  /** Runs plan `planId` to its end (or until the signal); undefined when another executor holds it. */
  async runPlan(planId: number): Promise<PlanState | undefined> {
    return withPlanLock(this.deps.pool, planId, async () => {
      let exec = await loadExecution(this.deps.pool, planId);
      if (!exec) throw new NovaError('EXECUTION_PLAN_NOT_FOUND', `plan ${planId} is not registered for execution`);
      if (exec.state === 'approved') await transitionPlan(this.deps.pool, planId, 'running', this.o.owner, 'execution started');
      else if (exec.state !== 'running') return exec.state;
      for (const a of exec.actions.filter((x) => x.state === 'running')) await this.recoverAction(a);
      const plan = await loadPlan(this.deps.pool, planId);
      if (!plan) throw new NovaError('EXECUTION_PLAN_NOT_FOUND', `plan ${planId} has no stored actions`);
      exec = (await loadExecution(this.deps.pool, planId))!;
      const waves = [...new Set(exec.actions.map((a) => a.wave))].sort((a, b) => a - b);
      let failure = exec.actions.find((a) => a.state === 'failed') ? 'a step failed before the restart' : null;
      for (const w of waves) {
        if (failure || this.deps.signal?.aborted) break;
        failure = await this.runWave(plan, exec.actions.filter((a) => a.wave === w && a.state === 'approved'));
      }
      if (this.deps.signal?.aborted && !failure) return 'running';
      if (failure) {
        await transitionPlan(this.deps.pool, planId, 'failed', this.o.owner, failure);
        await this.skipRest(planId, `plan stopped: ${failure}`);
        return 'failed';
      }
      await transitionPlan(this.deps.pool, planId, 'succeeded', this.o.owner, 'every step succeeded');
      return 'succeeded';
    });
  }

  private async skipRest(planId: number, reason: string): Promise<void> {
    const exec = (await loadExecution(this.deps.pool, planId))!;
    for (const a of exec.actions) if (a.state === 'approved' || a.state === 'proposed') await transitionAction(this.deps.pool, planId, a.seq, 'skipped', this.o.owner, reason, { finished: true });
  }

  /** Runs one wave's steps under the limits; returns why the plan must stop, or null. */
  private async runWave(plan: ActionPlan & { id: number }, actions: readonly ActionRow[]): Promise<string | null> {
    const slots = new RunningSlots(this.o.limits, this.o.clusterOf ?? (() => ''));
    const pending = [...actions];
    const inFlight = new Map<number, Promise<void>>();
    let failure: string | null = null;
    let startedLocally = 0;
    const hourStart = await migrationsStartedSince(this.deps.pool, 3_600_000);
    while ((pending.length > 0 && !failure && !this.deps.signal?.aborted) || inFlight.size > 0) {
      let started = false;
      if (!failure && insideWindow(this.o.limits.windows, new Date())) {
        const busy = await busyVms(this.deps.pool, plan.id);
        for (let i = 0; i < pending.length; i++) {
          const a = pending[i]!;
          if (a.kind === 'migrate') {
            const slot = { vmId: a.vmId!, fromHost: a.fromHost!, toHost: a.toHost! };
            if (slots.blocker(slot, hourStart + startedLocally, busy) !== null) continue;
            slots.start(slot);
            startedLocally++;
            pending.splice(i--, 1);
            inFlight.set(a.seq, this.runStep(plan, a).then((why) => {
              slots.finish(slot);
              if (why && !failure) failure = why;
            }).finally(() => inFlight.delete(a.seq)));
            started = true;
          } else if (inFlight.size === 0) {
            // A power-off waits for the wave's migrations (its host empties through them).
            pending.splice(i--, 1);
            inFlight.set(a.seq, this.runStep(plan, a).then((why) => {
              if (why && !failure) failure = why;
            }).finally(() => inFlight.delete(a.seq)));
            started = true;
          }
        }
      }
      if (inFlight.size > 0) await Promise.race(inFlight.values());
      else if (!started && pending.length > 0 && !failure) await sleep(this.o.waitMs, this.deps.signal);
    }
    return failure;
  }

  /** One step, recorded before and after; returns why the plan must stop, or null. */
  private async runStep(plan: ActionPlan, a: ActionRow): Promise<string | null> {
    const t0 = performance.now();
    let hypervisorMs = 0;
    const done = (state: ActionOutcome['state'], reason: string, errorCode?: string) => {
      this.deps.onAction?.(a.planId, { seq: a.seq, kind: a.kind, state, reason, totalMs: performance.now() - t0, hypervisorMs, ...(errorCode ? { errorCode } : {}) });
    };
    try {
      if (a.kind === 'power-off') return await this.powerOff(a, done);
      const out = await this.migrate(plan, a, (ms) => (hypervisorMs += ms), done);
      return out;
    } catch (err) {
      if (err instanceof WorldChanged) {
        await transitionAction(this.deps.pool, a.planId, a.seq, 'skipped', this.o.owner, `the world changed: ${err.message}`, { finished: true });
        done('skipped', err.message);
        return `the world changed under the plan: ${err.message}`;
      }
      const code = err instanceof NovaError ? err.code : 'EXECUTION_STEP_FAILED';
      const state = (await loadExecution(this.deps.pool, a.planId))!.actions[a.seq]!.state;
      if (state === 'running') await transitionAction(this.deps.pool, a.planId, a.seq, 'failed', this.o.owner, describeError(err), { finished: true, errorCode: code, error: describeError(err) });
      else if (state === 'approved') await transitionAction(this.deps.pool, a.planId, a.seq, 'skipped', this.o.owner, describeError(err), { finished: true, errorCode: code, error: describeError(err) });
      done('failed', describeError(err), code);
      return `step ${a.seq} failed: ${describeError(err)}`;
    }
  }

  private async migrate(plan: ActionPlan, a: ActionRow, spent: (ms: number) => void, done: (s: ActionOutcome['state'], r: string) => void): Promise<string | null> {
    const vm = a.vmId!;
    const from = this.deps.hypervisors.forHost(a.fromHost!);
    const to = this.deps.hypervisors.forHost(a.toHost!);
    const [onSource, onTarget] = await Promise.all([from.domain(vm), to.domain(vm)]);
    // Idempotent: a step already done (say, before a crash) is recorded, not repeated.
    if (onTarget?.state === 'running' && !(onSource && isActive(onSource))) {
      await transitionAction(this.deps.pool, a.planId, a.seq, 'running', this.o.owner, `${vm} already runs on ${a.toHost}`, { owner: this.o.owner, startedAt: true });
      await transitionAction(this.deps.pool, a.planId, a.seq, 'succeeded', this.o.owner, `${vm} already ran on ${a.toHost}: nothing to do`, { finished: true, seconds: 0 });
      done('succeeded', 'already there');
      return null;
    }
    await this.checkWorld(plan, a, onSource, to);
    await transitionAction(this.deps.pool, a.planId, a.seq, 'running', this.o.owner, `migrating ${vm} ${a.fromHost} → ${a.toHost}`, { owner: this.o.owner, startedAt: true, attempt: true });
    const t = performance.now();
    let seconds: number;
    try {
      seconds = (await from.migrate(vm, to, this.migrateOptions(a.toHost!))).seconds;
    } finally {
      spent(performance.now() - t);
    }
    // Verify: it runs on the target and no longer on the source.
    const [s, d] = await Promise.all([from.domain(vm), to.domain(vm)]);
    if (d?.state !== 'running' || (s !== null && isActive(s))) {
      throw new NovaError('EXECUTION_VERIFY_FAILED', `after migrating, ${vm} is ${d?.state ?? 'absent'} on ${a.toHost} and ${s?.state ?? 'absent'} on ${a.fromHost}`);
    }
    await transitionAction(this.deps.pool, a.planId, a.seq, 'succeeded', this.o.owner, `${vm} runs on ${a.toHost} (${seconds.toFixed(1)} s)`, { finished: true, seconds });
    const band = await this.outsideBand(plan, a.toHost!);
    if (band === null) {
      done('succeeded', `${vm} on ${a.toHost}`);
      return null;
    }
    // Verification after settling failed: move it back, and stop the plan.
    const back = performance.now();
    try {
      await to.migrate(vm, from, this.migrateOptions(a.fromHost!));
    } finally {
      spent(performance.now() - back);
    }
    await transitionAction(this.deps.pool, a.planId, a.seq, 'rolled_back', this.o.owner, `${band}; ${vm} migrated back to ${a.fromHost}`);
    done('rolled_back', band);
    return `step ${a.seq} rolled back: ${band}`;
  }

  private migrateOptions(targetHost: string): MigrateOptions {
    const migrateUri = this.o.migrateUriFor?.(targetHost);
    const bandwidth = this.o.migrationBandwidthMiBps;
    return { timeoutMs: this.o.migrationTimeoutMs, ...(this.deps.signal ? { signal: this.deps.signal } : {}), ...(migrateUri ? { migrateUri } : {}), ...(bandwidth ? { bandwidthMiBps: bandwidth } : {}) };
  }

  /** Refuses to start a move when the world no longer matches the plan (WorldChanged). */
  private async checkWorld(plan: ActionPlan, a: ActionRow, onSource: DomainInfo | null, to: Hypervisor): Promise<void> {
    if (onSource === null || onSource.state !== 'running') throw new WorldChanged(`${a.vmId} is ${onSource ? onSource.state : 'gone'} on ${a.fromHost}`);
    const [node, domains] = await Promise.all([to.nodeInfo(), to.listDomains()]);
    let used = 0;
    for (const d of domains) if (isActive(d)) used += d.memoryBytes;
    if (node.memoryBytes - used < onSource.memoryBytes) {
      throw new WorldChanged(`${a.toHost} has ${((node.memoryBytes - used) / 2 ** 30).toFixed(2)} GiB free, ${a.vmId} needs ${(onSource.memoryBytes / 2 ** 30).toFixed(2)} GiB (the host filled up)`);
    }
    const loadNow = await this.deps.world?.hostCpu(a.toHost!);
    const planned = loadAfter(plan, a.toHost!);
    if (loadNow !== undefined && planned !== undefined && loadNow > planned.cpuCores * (1 + this.o.loadTolerance)) {
      throw new WorldChanged(`${a.toHost} already uses ${loadNow.toFixed(2)} cores, past the ${planned.cpuCores.toFixed(2)} the plan predicted after all its arrivals (the forecast moved)`);
    }
  }

  /** After the settle time: why the host runs outside the plan's forecast band, or null. */
  private async outsideBand(plan: ActionPlan, hostId: string): Promise<string | null> {
    if (!this.deps.world) return null;
    const planned = loadAfter(plan, hostId);
    if (planned === undefined) return null;
    await sleep(this.o.settleMs, this.deps.signal);
    const now = await this.deps.world.hostCpu(hostId);
    if (now === undefined || now <= planned.cpuCores * (1 + this.o.loadTolerance)) return null;
    return `${hostId} uses ${now.toFixed(2)} cores after settling, over the plan's ${planned.cpuCores.toFixed(2)} + ${(this.o.loadTolerance * 100).toFixed(0)} %`;
  }

  private async powerOff(a: ActionRow, done: (s: ActionOutcome['state'], r: string) => void): Promise<string | null> {
    const host = a.hostId!;
    const power = this.deps.hostPower;
    if (!power) {
      await transitionAction(this.deps.pool, a.planId, a.seq, 'skipped', this.o.owner, 'no HostPower adapter is configured: switching the host off is left to an operator', { finished: true });
      done('skipped', 'no HostPower adapter');
      return null;
    }
    const active = (await this.deps.hypervisors.forHost(host).listDomains()).filter(isActive);
    if (active.length > 0) throw new WorldChanged(`${host} still runs ${active.map((d) => d.name).join(', ')}`);
    if ((await power.state(host)) === 'off') {
      await transitionAction(this.deps.pool, a.planId, a.seq, 'running', this.o.owner, `${host} is already off`, { owner: this.o.owner, startedAt: true });
      await transitionAction(this.deps.pool, a.planId, a.seq, 'succeeded', this.o.owner, `${host} was already off`, { finished: true });
      done('succeeded', 'already off');
      return null;
    }
    await transitionAction(this.deps.pool, a.planId, a.seq, 'running', this.o.owner, `powering ${host} off`, { owner: this.o.owner, startedAt: true, attempt: true });
    await power.powerOff(host);
    if ((await power.state(host)) !== 'off') throw new NovaError('EXECUTION_VERIFY_FAILED', `${host} does not report off after the power-off`);
    await transitionAction(this.deps.pool, a.planId, a.seq, 'succeeded', this.o.owner, `${host} is off`, { finished: true });
    done('succeeded', `${host} off`);
    return null;
  }
}

function loadAfter(plan: ActionPlan, hostId: string): HostLoad | undefined {
  return plan.loadAfter.find((l) => l.hostId === hostId);
}
