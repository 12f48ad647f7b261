import { execFile, type ExecFileException } from 'node:child_process';
import { NovaError } from '../core/index.ts';
import type { DomainInfo, Hypervisor } from './hypervisor.ts';
import { parseDomInfos, parseNameList, parseNodeInfo, virshQuote } from './virsh-output.ts';

// Why virsh and not a Node binding: the npm `libvirt` package (nan) does not compile on
// Node 20, and `@unraid/libvirt` covers lifecycle calls only (no migration, no vcpu/memory
// changes, no bulk stats). libvirt's own CLI covers every call, speaks every URI scheme
// (test://, qemu://, qemu+ssh://), and stays behind the Hypervisor port.

export interface VirshOptions {
  /** The virsh binary; injectable so a missing install can be tested. */
  virshPath?: string;
  /** Per-call limit: a hung SSH transport must not hang a dry run. */
  timeoutMs?: number;
}

// One argv string is capped by the kernel (MAX_ARG_STRLEN = 128 KiB); batches stay well under it.
const MAX_BATCH_CHARS = 64 * 1024;

/** Hypervisor reached by running `virsh -c <uri> ...` (execFile, no shell). */
export class VirshHypervisor implements Hypervisor {
  private readonly virshPath: string;
  private readonly timeoutMs: number;

  constructor(readonly uri: string, options: VirshOptions = {}) {
    this.virshPath = options.virshPath ?? 'virsh';
    this.timeoutMs = options.timeoutMs ?? 30_000;
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

  /** Runs `virsh -c <uri> <args...>` and returns its stdout, or throws a HYPERVISOR_* error. */
  run(args: string[]): Promise<string> {
    const argv = ['-c', this.uri, ...args];
    return new Promise((resolve, reject) => {
      execFile(
        this.virshPath,
        argv,
        // LC_ALL=C: virsh translates its labels, and the parsers read the English ones.
        { timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
        (error, stdout, stderr) => (error ? reject(this.classify(error, stderr, args)) : resolve(stdout)),
      );
    });
  }

  private classify(error: ExecFileException, stderr: string, args: string[]): NovaError {
    const details = { uri: this.uri, command: args[0]?.slice(0, 200), stderr: stderr.trim() };
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
    return new NovaError('HYPERVISOR_COMMAND_FAILED', `virsh -c ${this.uri} ${args[0]?.split(' ')[0] ?? ''} failed: ${firstLines || `exit ${String(error.code)}`}`, { cause: error, details });
  }
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
