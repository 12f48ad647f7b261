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

/** Port in front of one libvirt connection; adapters (virsh, bindings) sit beside it. */
export interface Hypervisor {
  readonly uri: string;
  nodeInfo(): Promise<{ cpus: number; memoryBytes: number }>;
  listDomains(): Promise<DomainInfo[]>;
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
  constructor(
    private readonly template: string,
    private readonly factory: (uri: string) => Hypervisor,
  ) {
    if (!template.includes('{host}')) {
      throw new NovaError('CONFIG_INVALID', `hypervisor URI template "${template}" has no {host} placeholder`);
    }
  }

  forHost(hostId: string): Hypervisor {
    assertHostId(hostId);
    return this.factory(this.template.replaceAll('{host}', hostId));
  }
}
