import { NovaError } from '../../core/index.ts';
import type { DomainInfo, DomainStats, Hypervisor, HypervisorDirectory, MigrateOptions, MigrationResult } from '../../actuators/index.ts';

/**
 * An in-memory fleet behind the Hypervisor port, for the executor's logic tests (the real
 * libvirt hosts are in stack/libvirt-hosts.ts): domains per host, migrations that take a few
 * milliseconds, and hooks to make one fail or hang (a crash in the middle of a migration). It
 * records the most migrations that ever ran at once per host, so tests can check the limits.
 */
export class MemoryFleet implements HypervisorDirectory {
  readonly hosts = new Map<string, Map<string, DomainInfo>>();
  readonly memory = new Map<string, number>();
  /** Migrations running now, per host (source and target), and the most seen at once. */
  readonly running = new Map<string, number>();
  readonly peak = new Map<string, number>();
  readonly vmsMigrating = new Set<string>();
  /** Every migration started, in order. */
  readonly started: { vm: string; from: string; to: string }[] = [];
  /** Decides what a migration does: 'ok', 'fail' (the target refuses), or 'hang' (never returns; the move may or may not have happened). */
  outcome: (vm: string, from: string, to: string) => 'ok' | 'fail' | 'hang' | 'hang-after-move' = () => 'ok';
  delayMs = 2;
  /** Migrations that hang (their executor died): `crash` ends them as libvirt ends a job whose client went away. */
  readonly hung: { vm: string; from: string; to: string }[] = [];

  /** Bumped by crash(): migrations in flight when their executor died end without moving anything. */
  private generation = 0;

  get currentGeneration(): number {
    return this.generation;
  }

  /** The executor process died: its hung migrations end where they were (moved or not), their slots free. */
  crash(): void {
    this.generation++;
    for (const h of this.hung.splice(0)) {
      this.vmsMigrating.delete(h.vm);
      this.bump(h.from, -1);
      this.bump(h.to, -1);
    }
  }

  addHost(id: string, memoryBytes = 64 * 2 ** 30): void {
    this.hosts.set(id, new Map());
    this.memory.set(id, memoryBytes);
  }

  addVm(host: string, name: string, memoryBytes = 2 ** 30): void {
    this.hosts.get(host)!.set(name, { name, state: 'running', vcpus: 1, memoryBytes });
  }

  where(vm: string): string[] {
    return [...this.hosts].filter(([, d]) => d.get(vm)?.state === 'running').map(([h]) => h);
  }

  forHost(hostId: string): Hypervisor {
    if (!this.hosts.has(hostId)) throw new NovaError('HYPERVISOR_HOST_INVALID', `no host ${hostId} in the memory fleet`);
    return new MemoryHypervisor(this, hostId);
  }

  bump(host: string, delta: number): void {
    const n = (this.running.get(host) ?? 0) + delta;
    this.running.set(host, n);
    this.peak.set(host, Math.max(this.peak.get(host) ?? 0, n));
  }
}

class MemoryHypervisor implements Hypervisor {
  readonly uri: string;

  constructor(private readonly fleet: MemoryFleet, readonly hostId: string) {
    this.uri = `memory://${hostId}`;
  }

  private domains(): Map<string, DomainInfo> {
    return this.fleet.hosts.get(this.hostId)!;
  }

  async nodeInfo() {
    return { cpus: 64, memoryBytes: this.fleet.memory.get(this.hostId)! };
  }

  async listDomains(): Promise<DomainInfo[]> {
    return [...this.domains().values()].map((d) => ({ ...d }));
  }

  async domain(name: string): Promise<DomainInfo | null> {
    const d = this.domains().get(name);
    return d ? { ...d } : null;
  }

  private need(name: string): DomainInfo {
    const d = this.domains().get(name);
    if (!d) throw new NovaError('HYPERVISOR_DOMAIN_NOT_FOUND', `no domain ${name} on ${this.hostId}`);
    return d;
  }

  async start(name: string) {
    this.need(name).state = 'running';
  }
  async shutdown(name: string) {
    this.need(name).state = 'shut off';
  }
  async destroy(name: string) {
    this.need(name).state = 'shut off';
  }
  async suspend(name: string) {
    this.need(name).state = 'paused';
  }
  async resume(name: string) {
    this.need(name).state = 'running';
  }
  async setVcpus(name: string, count: number) {
    this.need(name).vcpus = count;
  }
  async setMemory(name: string, bytes: number) {
    this.need(name).memoryBytes = bytes;
  }
  async domainStats(): Promise<DomainStats[]> {
    return [...this.domains().values()].map((d) => ({ name: d.name, state: d.state, cpuTimeNs: 0, vcpus: d.vcpus, balloonCurrentBytes: d.memoryBytes, balloonMaximumBytes: d.memoryBytes, block: [], net: [] }));
  }

  async migrate(name: string, target: Hypervisor, options: MigrateOptions): Promise<MigrationResult> {
    const f = this.fleet;
    const to = (target as MemoryHypervisor).hostId;
    const d = this.need(name);
    if (d.state !== 'running') throw new NovaError('HYPERVISOR_COMMAND_FAILED', `${name} is not running on ${this.hostId}`);
    if (f.vmsMigrating.has(name)) throw new Error(`test fleet: ${name} is already migrating (two actions on one VM at once)`);
    f.vmsMigrating.add(name);
    f.started.push({ vm: name, from: this.hostId, to });
    f.bump(this.hostId, 1);
    f.bump(to, 1);
    const outcome = f.outcome(name, this.hostId, to);
    const move = () => {
      this.domains().delete(name);
      f.hosts.get(to)!.set(name, { ...d });
    };
    const generation = f.currentGeneration;
    try {
      await new Promise((r) => setTimeout(r, f.delayMs));
      // Its executor died meanwhile: libvirt aborts a migration whose client went away.
      if (f.currentGeneration !== generation) throw new NovaError('HYPERVISOR_MIGRATION_CANCELLED', `migration of ${name} aborted: its client went away`);
      if (options.signal?.aborted) throw new NovaError('HYPERVISOR_MIGRATION_CANCELLED', `migration of ${name} cancelled`);
      if (outcome === 'fail') throw new NovaError('HYPERVISOR_MIGRATION_FAILED', `${to} refused ${name}`);
      if (outcome === 'hang-after-move') move();
      if (outcome === 'hang' || outcome === 'hang-after-move') {
        // Never settles, so the finally below never runs: crash() frees what it held.
        f.hung.push({ vm: name, from: this.hostId, to });
        await new Promise(() => undefined);
      }
      move();
      return { seconds: f.delayMs / 1000 };
    } finally {
      f.vmsMigrating.delete(name);
      f.bump(this.hostId, -1);
      f.bump(to, -1);
    }
  }
}
