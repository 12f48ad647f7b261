import { NovaError } from './errors.ts';

/** One domain's typed parameters as libvirt returns them (`virsh domstats --raw`, or the FFI). */
export interface RawDomainStats {
  name: string;
  fields: Map<string, string | number>;
}

/**
 * Parses `virsh domstats --raw`: a `Domain: 'name'` line, then `  key=value` lines, per domain.
 * Shared by the actuators (Hypervisor.domainStats) and the host agent, which read the same
 * command. virsh is run with LC_ALL=C; output in another form is reported, not guessed at.
 */
export function parseDomStatsRaw(text: string): RawDomainStats[] {
  const out: RawDomainStats[] = [];
  let current: RawDomainStats | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const head = /^Domain: '(.*)'$/.exec(line);
    if (head) {
      current = { name: head[1]!, fields: new Map() };
      out.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || !line.startsWith('  ') || eq < 0) {
      throw new NovaError('LIBVIRT_OUTPUT_UNEXPECTED', `unexpected line in virsh domstats output: "${line.slice(0, 200)}"; is virsh's locale or version unusual? (run it with LC_ALL=C)`, {
        details: { output: text.slice(0, 2000) },
      });
    }
    const value = line.slice(eq + 1);
    // --raw prints numbers as digits (doubles with a point) and strings bare.
    current.fields.set(line.slice(2, eq), /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value);
  }
  return out;
}
