import { NovaError } from '../core/index.ts';

/** One libvirt domain as the actuators see it. */
export interface DomainInfo {
  name: string;
  /** virsh's words: 'running', 'paused', 'shut off', or another libvirt state. */
  state: 'running' | 'paused' | 'shut off' | (string & {});
  vcpus: number;
  /** Configured (maximum) memory: what a host must be able to hold, like the scheduler's memBytes. */
  memoryBytes: number;
}

/**
 * Counters of one domain (libvirt's bulk stats), for the host agent and for verification. A counter
 * the driver does not report is 0 (libvirt's test driver reports only the state).
 */
export interface DomainStats {
  name: string;
  state: DomainInfo['state'];
  /** Total CPU time, nanoseconds (cpu.time). */
  cpuTimeNs: number;
  vcpus: number;
  /** Balloon: current and maximum memory, bytes; rss when the driver reports it. */
  balloonCurrentBytes: number;
  balloonMaximumBytes: number;
  balloonRssBytes?: number;
  block: { name: string; readBytes: number; writeBytes: number; readRequests: number; writeRequests: number }[];
  net: { name: string; rxBytes: number; txBytes: number; rxPackets: number; txPackets: number }[];
}

/** How far a live migration has got (libvirt's job info). */
export interface MigrationProgress {
  elapsedMs: number;
  dataTotalBytes: number;
  dataProcessedBytes: number;
  dataRemainingBytes: number;
}

/** Options of a live migration. */
export interface MigrateOptions {
  /** Give up (and cancel the job, leaving the domain running on the source) after this long. */
  timeoutMs: number;
  /** Cancels the migration: the domain keeps running on the source. */
  signal?: AbortSignal;
  /** Called while the migration runs (about once a second). */
  onProgress?: (p: MigrationProgress) => void;
  /** Address the data goes over (libvirt's migrateuri, e.g. tcp://10.0.0.2), when not the target's default. */
  migrateUri?: string;
  /** Caps the migration's bandwidth, MiB/s (libvirt's `bandwidth`), so a move does not starve the hosts' network. */
  bandwidthMiBps?: number;
}

/** A finished live migration. */
export interface MigrationResult {
  seconds: number;
}

/**
 * Port in front of one libvirt connection; adapters (virsh, FFI) sit beside it. Writes name the
 * domain; every error is a NovaError with a HYPERVISOR_* code (HYPERVISOR_DOMAIN_NOT_FOUND,
 * HYPERVISOR_MIGRATION_FAILED, HYPERVISOR_MIGRATION_TIMEOUT (retriable),
 * HYPERVISOR_MIGRATION_CANCELLED, HYPERVISOR_UNREACHABLE (retriable), HYPERVISOR_SHUTDOWN_TIMEOUT
 * (retriable), HYPERVISOR_INVALID_ARGUMENT, HYPERVISOR_COMMAND_FAILED).
 */
export interface Hypervisor {
  readonly uri: string;
  nodeInfo(): Promise<{ cpus: number; memoryBytes: number }>;
  listDomains(): Promise<DomainInfo[]>;
  /** One domain, or null when this host has none of that name. */
  domain(name: string): Promise<DomainInfo | null>;
  start(name: string): Promise<void>;
  /** Graceful shutdown (ACPI), waiting up to timeoutMs for the domain to stop (a transient one is then gone); no-op when already shut off. */
  shutdown(name: string, timeoutMs: number): Promise<void>;
  destroy(name: string): Promise<void>;
  suspend(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /** Live vCPU count (hot-plug within the domain's maximum). */
  setVcpus(name: string, count: number): Promise<void>;
  /** Live memory through the balloon (within the domain's maximum), bytes. */
  setMemory(name: string, bytes: number): Promise<void>;
  /** Bulk stats of the named domains (HYPERVISOR_DOMAIN_NOT_FOUND if one is missing), or of every domain when none is named. */
  domainStats(names?: readonly string[]): Promise<DomainStats[]>;
  /**
   * Live-migrates a running domain to `target`, its definition with it (persistent there,
   * undefined here). On failure, timeout or cancel the job is aborted and the domain keeps
   * running here; a timeout or cancel that arrives after the move completed changes nothing
   * and the call resolves (the domain is on the target).
   */
  migrate(name: string, target: Hypervisor, options: MigrateOptions): Promise<MigrationResult>;
}

/** Finds the hypervisor of a host by its id. */
export interface HypervisorDirectory {
  forHost(hostId: string): Hypervisor;
}

/** True for every state in which the domain holds memory on its host (anything but shut off). */
export function isActive(domain: DomainInfo): boolean {
  return domain.state !== 'shut off';
}

// Host ids come from agents and the database; they end up inside libvirt URIs and file
// names, where '/', '?' or '&' could redirect a connection (e.g. `?command=` of the ext transport).
const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

/** Throws HYPERVISOR_HOST_INVALID unless the host id is safe to put in a URI or a file name. */
export function assertHostId(hostId: string): void {
  if (!HOST_ID.test(hostId) || hostId.length > 253) {
    throw new NovaError('HYPERVISOR_HOST_INVALID', `host id "${hostId}" cannot be used in a libvirt URI: use letters, digits and . _ : @ - only`, { details: { hostId } });
  }
}

/** Directory that derives each host's URI from a template with `{host}`, e.g. `qemu+ssh://{host}/system`. */
export class UriTemplateDirectory implements HypervisorDirectory {
  /** `explicit` names the URI of particular hosts (e.g. a host on another transport), ahead of the template. */
  constructor(
    private readonly template: string,
    private readonly factory: (uri: string) => Hypervisor,
    private readonly explicit: Readonly<Record<string, string>> = {},
  ) {
    if (!template.includes('{host}')) {
      throw new NovaError('CONFIG_INVALID', `hypervisor URI template "${template}" has no {host} placeholder`);
    }
  }

  forHost(hostId: string): Hypervisor {
    assertHostId(hostId);
    return this.factory(Object.hasOwn(this.explicit, hostId) ? this.explicit[hostId]! : this.template.replaceAll('{host}', hostId));
  }
}
