import { sumSimple } from 'simple-statistics';
import { describeError } from '../core/index.ts';
import type { ActionPlan, MigrateAction, PlannedAction, PowerOffAction } from '../scheduler/index.ts';
import { formatCommand, migrateArgs, powerOffIntent } from './commands.ts';
import { isActive, type HypervisorDirectory } from './hypervisor.ts';
import { LiveHosts } from './live-hosts.ts';

/** The verdict on one action of a plan, checked against the live hypervisors. */
export interface DryRunResult {
  index: number;
  action: PlannedAction;
  status: 'ok' | 'blocked';
  /** What was verified, with the numbers. */
  checks: string[];
  /** Why the action is blocked (absent when ok). */
  reason?: string;
  /** The exact command execution would run (for a power-off: the stated intent, see powerOffIntent). */
  command: string;
}

/** The dry run of a whole plan. */
export interface DryRunReport {
  planCreatedAt: number;
  results: DryRunResult[];
  ok: number;
  blocked: number;
}

/** What the plan will have done by the time an action runs (actions run in order). */
interface Progress {
  /** Migrations found ok so far, with the live memory of the VM they move. */
  moves: { index: number; vmId: string; fromHost: string; toHost: string; memBytes: number }[];
  /** Migrations found blocked so far: the VM stays where it is. */
  stuck: { index: number; vmId: string; fromHost: string }[];
  /** Hosts found ok to power off so far, with the action's index. */
  poweredOff: Map<string, number>;
}

type Verdict = { checks: string[]; reason?: string; memBytes?: number };

/**
 * Checks every action of a plan against the live hypervisors, changing nothing, and records
 * what each would do. Actions are judged in order, as if every earlier ok action had run.
 */
export async function dryRunPlan(plan: ActionPlan, directory: HypervisorDirectory): Promise<DryRunReport> {
  const live = new LiveHosts(directory);
  const migrations = plan.actions.filter((a): a is MigrateAction => a.kind === 'migrate');
  live.prefetch(plan.actions.flatMap((a) => (a.kind === 'migrate' ? [a.fromHost, a.toHost] : [a.hostId])), migrations.map((a) => a.toHost));

  const progress: Progress = { moves: [], stuck: [], poweredOff: new Map() };
  const results: DryRunResult[] = [];
  for (const [index, action] of plan.actions.entries()) {
    const verdict = action.kind === 'migrate' ? await checkMigrate(action, live, progress) : await checkPowerOff(action, live, progress);
    const status = verdict.reason === undefined ? 'ok' : 'blocked';
    if (action.kind === 'migrate') {
      if (status === 'ok') progress.moves.push({ index, vmId: action.vmId, fromHost: action.fromHost, toHost: action.toHost, memBytes: verdict.memBytes ?? action.memBytes });
      else progress.stuck.push({ index, vmId: action.vmId, fromHost: action.fromHost });
    } else if (status === 'ok') {
      progress.poweredOff.set(action.hostId, index);
    }
    const command = action.kind === 'migrate'
      ? formatCommand('virsh', migrateArgs(live.uri(action.fromHost), action.vmId, live.uri(action.toHost)))
      : powerOffIntent(action.hostId, live.uri(action.hostId));
    results.push({ index, action, status, checks: verdict.checks, ...(verdict.reason === undefined ? {} : { reason: verdict.reason }), command });
  }
  const ok = results.filter((r) => r.status === 'ok').length;
  return { planCreatedAt: plan.createdAt, results, ok, blocked: results.length - ok };
}

async function checkMigrate(a: MigrateAction, live: LiveHosts, progress: Progress): Promise<Verdict> {
  const checks: string[] = [];
  const blocked = (reason: string): Verdict => ({ checks, reason });
  if (a.fromHost === a.toHost) return blocked(`source and target are the same host ${a.fromHost}`);
  const off = progress.poweredOff.get(a.toHost);
  if (off !== undefined) return blocked(`target ${a.toHost} is powered off by action #${off}`);

  const source = await attempt(() => live.domains(a.fromHost));
  if (source instanceof Error) return blocked(`source ${a.fromHost} unreachable: ${describeError(source)}`);
  checks.push(`source ${a.fromHost} reachable at ${live.uri(a.fromHost)}: ${source.length} domains`);
  const left = progress.moves.find((m) => m.vmId === a.vmId && m.fromHost === a.fromHost);
  if (left) return blocked(`${a.vmId} already leaves ${a.fromHost} in action #${left.index}`);
  const vm = source.find((d) => d.name === a.vmId);
  if (!vm) return blocked(`domain ${a.vmId} is not on ${a.fromHost}`);
  if (vm.state !== 'running') return blocked(`${a.vmId} on ${a.fromHost} is ${vm.state}, not running`);
  checks.push(`${a.vmId} running on ${a.fromHost}: ${vm.vcpus} vCPUs, ${mib(vm.memoryBytes)}`);
  if (vm.memoryBytes !== a.memBytes) checks.push(`plan assumed ${mib(a.memBytes)} for ${a.vmId}; the live ${mib(vm.memoryBytes)} is used`);

  const target = await attempt(() => Promise.all([live.domains(a.toHost), live.node(a.toHost)]));
  if (target instanceof Error) return blocked(`target ${a.toHost} unreachable: ${describeError(target)}`);
  const [domains, node] = target;
  checks.push(`target ${a.toHost} reachable at ${live.uri(a.toHost)}: ${node.cpus} CPUs, ${mib(node.memoryBytes)}`);
  const clash = domains.find((d) => d.name === a.vmId);
  if (clash) return blocked(`a domain named ${a.vmId} already exists on ${a.toHost} (${clash.state})`);
  const arriving = progress.moves.filter((m) => m.toHost === a.toHost);
  const twin = arriving.find((m) => m.vmId === a.vmId);
  if (twin) return blocked(`a domain named ${a.vmId} already moves to ${a.toHost} in action #${twin.index}`);
  checks.push(`${a.vmId} not on ${a.toHost}`);

  // Conservative: VMs leaving the target earlier in the plan are not credited back.
  const active = domains.filter(isActive);
  const activeMem = sumSimple(active.map((d) => d.memoryBytes));
  const incomingMem = sumSimple(arriving.map((m) => m.memBytes));
  const free = node.memoryBytes - activeMem - incomingMem;
  const sums = `${a.toHost} free ${mib(free)} = node ${mib(node.memoryBytes)} - ${active.length} active domains ${mib(activeMem)} - ${arriving.length} earlier arrivals ${mib(incomingMem)}`;
  if (free < vm.memoryBytes) return blocked(`not enough memory on ${a.toHost}: ${sums} < ${a.vmId} ${mib(vm.memoryBytes)}`);
  checks.push(`${sums} >= ${a.vmId} ${mib(vm.memoryBytes)}`);
  // vCPUs are routinely overcommitted, so this figure informs, it does not block.
  checks.push(`${a.toHost} vCPUs after the move: ${sumSimple(active.map((d) => d.vcpus)) + vm.vcpus} on ${node.cpus} CPUs (not counting other arrivals)`);
  return { checks, memBytes: vm.memoryBytes };
}

async function checkPowerOff(a: PowerOffAction, live: LiveHosts, progress: Progress): Promise<Verdict> {
  const checks: string[] = [];
  const blocked = (reason: string): Verdict => ({ checks, reason });
  const domains = await attempt(() => live.domains(a.hostId));
  if (domains instanceof Error) return blocked(`host ${a.hostId} unreachable: ${describeError(domains)}`);
  checks.push(`host ${a.hostId} reachable at ${live.uri(a.hostId)}: ${domains.length} domains`);

  const arriving = progress.moves.filter((m) => m.toHost === a.hostId);
  if (arriving.length > 0) return blocked(`earlier actions move VMs onto ${a.hostId}: ${arriving.map((m) => `${m.vmId} (#${m.index})`).join(', ')}`);
  // Every domain holding memory (paused ones too, not only running) must have left.
  const staying: string[] = [];
  for (const d of domains.filter(isActive)) {
    const move = progress.moves.find((m) => m.vmId === d.name && m.fromHost === a.hostId);
    if (move) {
      checks.push(`${d.name} (${d.state}) leaves in action #${move.index} for ${move.toHost}`);
      continue;
    }
    const stuck = progress.stuck.find((m) => m.vmId === d.name && m.fromHost === a.hostId);
    staying.push(`${d.name} (${d.state}, ${stuck ? `its migration #${stuck.index} is blocked` : 'no migration in the plan'})`);
  }
  if (staying.length > 0) return blocked(`${staying.length} active domain(s) would stay on ${a.hostId}: ${staying.join(', ')}`);
  const inactive = domains.filter((d) => !isActive(d));
  checks.push(inactive.length === 0 ? `no domain stays on ${a.hostId}` : `only shut-off domains stay defined on ${a.hostId}: ${inactive.map((d) => d.name).join(', ')}`);
  return { checks };
}

async function attempt<T>(fn: () => Promise<T>): Promise<T | Error> {
  try {
    return await fn();
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return `${Number.isInteger(m) ? m : m.toFixed(1)} MiB`;
}
