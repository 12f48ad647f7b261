import { NovaError } from '../core/index.ts';
import type { Hypervisor } from './hypervisor.ts';
import { LibvirtFfiHypervisor } from './libvirt-ffi.ts';
import { VirshHypervisor } from './virsh.ts';

/** The adapters behind the Hypervisor port: libvirt's `virsh` CLI, or libvirt.so through koffi. */
export const HYPERVISOR_ADAPTERS = ['virsh', 'ffi'] as const;
export type HypervisorAdapter = (typeof HYPERVISOR_ADAPTERS)[number];

/**
 * The default adapter, chosen by `npm run bench:hypervisor` on the project's machine (2 cores,
 * libvirt 9.0, QEMU 7.2): a live migration of a 64 MiB guest between two real hosts took the same
 * through both (median 2.42 s virsh, 2.51 s FFI: QEMU moves the memory, not the client), while
 * bulk stats of 1,000 test-driver domains took 264 ms through virsh and 8.8 ms through FFI with
 * its connection reused (44 vs 7 ms on a real host with one guest). The actuators call stats a
 * few times per plan, so that gain is small for them, and virsh keeps libvirt out of the process:
 * a crash in libvirt cannot take the executor down, and a migration holds no libuv worker thread
 * (through FFI each blocking call holds one of UV_THREADPOOL_SIZE = 4, which also serve fs and
 * dns; measured: a fifth call waits). FFI suits readers that poll many domains (a host agent).
 */
export const DEFAULT_HYPERVISOR_ADAPTER: HypervisorAdapter = 'virsh';

/** Options both adapters understand. */
export interface HypervisorFactoryOptions {
  /** How often a migration's progress is polled, ms (default 1000). */
  progressIntervalMs?: number;
  /** How often shutdown() polls the domain's state, ms (default 250). */
  shutdownPollMs?: number;
  /** virsh adapter: how long aborts of a timed-out or cancelled migration may take before virsh is stopped, ms (default 30,000). The FFI adapter has no client side to stop. */
  migrationAbortGraceMs?: number;
}

/** Throws CONFIG_INVALID unless `name` is an adapter name. */
export function parseHypervisorAdapter(name: string): HypervisorAdapter {
  if ((HYPERVISOR_ADAPTERS as readonly string[]).includes(name)) return name as HypervisorAdapter;
  throw new NovaError('CONFIG_INVALID', `unknown hypervisor adapter "${name}": use one of ${HYPERVISOR_ADAPTERS.join(', ')}`);
}

/**
 * The `(uri) => Hypervisor` a composition root hands to UriTemplateDirectory. The FFI adapter
 * keeps one connection per URI, so its factory returns one instance per URI.
 */
export function hypervisorFactory(adapter: HypervisorAdapter = DEFAULT_HYPERVISOR_ADAPTER, options: HypervisorFactoryOptions = {}): (uri: string) => Hypervisor {
  if (adapter === 'virsh') return (uri) => new VirshHypervisor(uri, options);
  const instances = new Map<string, LibvirtFfiHypervisor>();
  return (uri) => {
    let h = instances.get(uri);
    if (h === undefined) {
      h = new LibvirtFfiHypervisor(uri, options);
      instances.set(uri, h);
    }
    return h;
  };
}
