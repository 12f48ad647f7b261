import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hasCode, NovaError } from '../core/index.ts';
import type { HostPower, PowerState } from './host-power.ts';
import { isActive, type Hypervisor, type HypervisorDirectory } from './hypervisor.ts';

/** Options of {@link LibvirtHostPower}. */
export interface LibvirtHostPowerOptions {
  /**
   * JSON file keeping which hosts are marked off, so the mark outlives the process (the executor
   * asks state() again after a restart). Without it the marks live in memory only.
   */
  stateFile?: string;
}

/**
 * HostPower for test hosts and libvirt-only setups, where nothing can cut a machine's power.
 * powerOff checks through libvirt that the host runs no domain (every domain holding memory,
 * paused ones too, must have left) and then marks it off; powerOn clears the mark once the
 * host's libvirtd answers. state() is 'off' while marked, else 'on' if libvirtd answers, else
 * 'unknown'.
 *
 * What it does not do: it never stops libvirtd or the machine and saves no power; it does not
 * stop anyone else from starting a domain on a host marked off (the scheduler keeps off hosts
 * empty, the dry run blocks moves onto them). Errors: HOST_POWER_HOST_BUSY (domains still run),
 * HOST_POWER_UNREACHABLE (retriable), HOST_POWER_UNKNOWN_HOST (an id no URI can be made from).
 */
export class LibvirtHostPower implements HostPower {
  private marks: Promise<Set<string>> | undefined;

  constructor(
    private readonly directory: HypervisorDirectory,
    private readonly options: LibvirtHostPowerOptions = {},
  ) {}

  async state(hostId: string): Promise<PowerState> {
    const h = this.hypervisor(hostId);
    if ((await this.offHosts()).has(hostId)) return 'off';
    try {
      await h.nodeInfo();
      return 'on';
    } catch {
      return 'unknown';
    }
  }

  async powerOff(hostId: string): Promise<void> {
    const h = this.hypervisor(hostId);
    const domains = await this.reach(hostId, h, () => h.listDomains());
    const active = domains.filter(isActive);
    if (active.length > 0) {
      throw new NovaError('HOST_POWER_HOST_BUSY', `host ${hostId} still runs ${active.map((d) => `${d.name} (${d.state})`).join(', ')}: migrate or stop them before powering it off`, {
        details: { hostId, uri: h.uri, active: active.map((d) => d.name) },
      });
    }
    await this.mark(hostId, true);
  }

  async powerOn(hostId: string): Promise<void> {
    const h = this.hypervisor(hostId);
    await this.reach(hostId, h, () => h.nodeInfo());
    await this.mark(hostId, false);
  }

  private hypervisor(hostId: string): Hypervisor {
    try {
      return this.directory.forHost(hostId);
    } catch (err) {
      throw new NovaError('HOST_POWER_UNKNOWN_HOST', `host id "${hostId}" has no libvirt URI: ${(err as Error).message}`, { cause: err, details: { hostId } });
    }
  }

  private async reach<T>(hostId: string, h: Hypervisor, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const retriable = !(err instanceof NovaError) || err.retriable || hasCode(err, 'HYPERVISOR_UNREACHABLE');
      throw new NovaError('HOST_POWER_UNREACHABLE', `the libvirtd of host ${hostId} (${h.uri}) does not answer: ${(err as Error).message}`, { retriable, cause: err, details: { hostId, uri: h.uri } });
    }
  }

  private offHosts(): Promise<Set<string>> {
    this.marks ??= this.load();
    return this.marks;
  }

  private async load(): Promise<Set<string>> {
    const file = this.options.stateFile;
    if (file === undefined) return new Set();
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { off?: unknown };
      return new Set(Array.isArray(parsed.off) ? parsed.off.filter((x): x is string => typeof x === 'string') : []);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw new NovaError('HOST_POWER_STATE_INVALID', `cannot read the host power state file ${file}: ${(err as Error).message}; fix or delete it`, { cause: err });
    }
  }

  private async mark(hostId: string, off: boolean): Promise<void> {
    const marks = await this.offHosts();
    if (off) marks.add(hostId);
    else marks.delete(hostId);
    const file = this.options.stateFile;
    if (file === undefined) return;
    await mkdir(dirname(file), { recursive: true });
    // Written aside and renamed: a crash never leaves half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ off: [...marks].sort() }, null, 2)}\n`);
    await rename(tmp, file);
  }
}
