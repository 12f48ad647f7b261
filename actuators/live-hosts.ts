import { describeError } from '../core/index.ts';
import type { DomainInfo, Hypervisor, HypervisorDirectory } from './hypervisor.ts';

/** Node figures of a host. */
export interface NodeFigures {
  cpus: number;
  memoryBytes: number;
}

/**
 * What the hypervisors say, read at most once per host for one dry run: every check of a
 * plan sees the same listing, and a plan touching a host ten times costs one call, not ten.
 * Failures are cached too (as rejected promises), so an unreachable host is asked once.
 */
export class LiveHosts {
  private readonly hypervisors = new Map<string, Hypervisor | Error>();
  private readonly domainCache = new Map<string, Promise<DomainInfo[]>>();
  private readonly nodeCache = new Map<string, Promise<NodeFigures>>();

  constructor(private readonly directory: HypervisorDirectory) {}

  /** Starts the reads a plan will need, in parallel; errors surface when they are awaited. */
  prefetch(hostIds: Iterable<string>, nodeHostIds: Iterable<string>): void {
    for (const id of hostIds) this.domains(id).catch(() => undefined);
    for (const id of nodeHostIds) this.node(id).catch(() => undefined);
  }

  /** The host's URI, or a placeholder naming why there is none. */
  uri(hostId: string): string {
    const h = this.hypervisor(hostId);
    return h instanceof Error ? `<no URI for ${hostId}: ${describeError(h)}>` : h.uri;
  }

  domains(hostId: string): Promise<DomainInfo[]> {
    return cached(this.domainCache, hostId, () => this.call(hostId, (h) => h.listDomains()));
  }

  node(hostId: string): Promise<NodeFigures> {
    return cached(this.nodeCache, hostId, () => this.call(hostId, (h) => h.nodeInfo()));
  }

  private hypervisor(hostId: string): Hypervisor | Error {
    let h = this.hypervisors.get(hostId);
    if (h === undefined) {
      try {
        h = this.directory.forHost(hostId);
      } catch (err) {
        h = err instanceof Error ? err : new Error(String(err));
      }
      this.hypervisors.set(hostId, h);
    }
    return h;
  }

  private async call<T>(hostId: string, fn: (h: Hypervisor) => Promise<T>): Promise<T> {
    const h = this.hypervisor(hostId);
    if (h instanceof Error) throw h;
    return fn(h);
  }
}

function cached<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (p === undefined) {
    p = load();
    cache.set(key, p);
  }
  return p;
}
