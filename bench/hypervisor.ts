/**
 * bench:hypervisor — the two adapters of the Hypervisor port, measured on this machine.
 *   npm run bench:hypervisor [-- --runs 5 --domains 1000 --migrations 3]
 * (a) bulk stats (domainStats of every domain) of a libvirt test-driver node holding 1,000
 *     domains: virsh (one process per call, as the adapter runs it) beside the FFI adapter
 *     (libvirt.so through koffi; first call opens the connection, later calls reuse it);
 *     also both on the real host A (qemu:///system) with one guest.
 * (b) live migration of a 64 MiB QEMU guest between the two real libvirtd hosts of
 *     stack/libvirt-hosts.ts (root; Debian packages as `./novacron test` installs them),
 *     A→B and back, with each adapter.
 * Medians over the runs. Last line:
 *   `hypervisor stats_1000_ms_virsh=<ms> stats_1000_ms_ffi=<ms> migration_s=<s>`
 * where stats_1000_ms_ffi is the warm (connection reused) figure and migration_s is the
 * default adapter's (DEFAULT_HYPERVISOR_ADAPTER).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HYPERVISOR_ADAPTER, HYPERVISOR_ADAPTERS, hypervisorFactory, type HypervisorAdapter } from '../actuators/hypervisor-factory.ts';
import type { Hypervisor } from '../actuators/hypervisor.ts';
import { LibvirtFfiHypervisor } from '../actuators/libvirt-ffi.ts';
import { writeTestNode } from '../actuators/test-node.ts';
import { acquireRealHosts } from '../stack/index.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, domains: { type: 'string', default: '1000' }, migrations: { type: 'string', default: '3' } } });
const runs = Number(values.runs);
const domainCount = Number(values.domains);
const migrations = Number(values.migrations);
if (![runs, domainCount, migrations].every((n) => Number.isInteger(n) && n >= 1)) {
  console.error('bench:hypervisor: --runs, --domains and --migrations must be positive integers');
  process.exit(2);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 1) => x.toFixed(digits);
async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

// (a) bulk stats of many domains, test driver.
const dir = await mkdtemp(join(tmpdir(), 'novacron-bench-hypervisor-'));
const statsMs: Record<HypervisorAdapter, number> = { virsh: Number.NaN, ffi: Number.NaN };
try {
  const domains = Array.from({ length: domainCount }, (_, i) => ({ name: `vm-${String(i).padStart(5, '0')}`, vcpus: 2, memBytes: 2 ** 31, running: i % 10 !== 0 }));
  const uri = await writeTestNode(dir, { hostId: 'bench', cpus: 128, memBytes: 2 ** 42 }, domains);
  console.log(`(a) domainStats() of ${domainCount} domains, libvirt test driver (${uri}), ${runs} runs each`);
  const virsh = hypervisorFactory('virsh')(uri);
  const virshMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [ms, stats] = await timed(() => virsh.domainStats());
    if (stats.length !== domainCount) throw new Error(`virsh returned ${stats.length} domains`);
    virshMs.push(ms);
  }
  const ffi = new LibvirtFfiHypervisor(uri);
  const [coldMs] = await timed(() => ffi.domainStats());
  const ffiMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [ms, stats] = await timed(() => ffi.domainStats());
    if (stats.length !== domainCount) throw new Error(`ffi returned ${stats.length} domains`);
    ffiMs.push(ms);
  }
  await ffi.close();
  statsMs.virsh = median(virshMs);
  statsMs.ffi = median(ffiMs);
  console.log(`  virsh  (process + connection per call)  median ${fmt(statsMs.virsh)} ms  [${virshMs.map((x) => fmt(x)).join(', ')}]`);
  console.log(`  ffi    first call (opens the connection) ${fmt(coldMs)} ms`);
  console.log(`  ffi    connection reused                median ${fmt(statsMs.ffi)} ms  [${ffiMs.map((x) => fmt(x)).join(', ')}]`);
  console.log(`  (the test driver parses the node's XML on every connection open: that is most of virsh's and the first FFI call's time)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

// (b) live migration between the two real hosts, and stats of a real host.
const migrationS: Partial<Record<HypervisorAdapter, number>> = {};
const acquired = await acquireRealHosts().catch((err: unknown) => ({ skip: (err as Error).message }));
if ('skip' in acquired) {
  console.log(`(b) live migration: not measured: ${acquired.skip}`);
} else {
  try {
    const guest = await acquired.bootGuest();
    console.log(`(b) live migration of a 64 MiB guest between ${acquired.uriA} and ${acquired.uriB}, ${migrations}× each way per adapter`);
    for (const adapter of HYPERVISOR_ADAPTERS) {
      const make = hypervisorFactory(adapter);
      const a: Hypervisor = make(acquired.uriA);
      const b: Hypervisor = make(acquired.uriB);
      const seconds: number[] = [];
      for (let i = 0; i < migrations; i++) {
        seconds.push((await a.migrate(guest, b, { timeoutMs: 60_000, migrateUri: acquired.migrateUri })).seconds);
        seconds.push((await b.migrate(guest, a, { timeoutMs: 60_000, migrateUri: acquired.migrateUri })).seconds);
      }
      migrationS[adapter] = median(seconds);
      console.log(`  ${adapter.padEnd(6)} median ${fmt(migrationS[adapter]!, 2)} s  [${seconds.map((x) => fmt(x, 2)).join(', ')}]`);
      const statsRuns: number[] = [];
      for (let i = 0; i < runs; i++) statsRuns.push((await timed(() => a.domainStats()))[0]);
      console.log(`  ${adapter.padEnd(6)} domainStats() of host A (${(await a.listDomains()).length} domains): median ${fmt(median(statsRuns))} ms`);
      if (a instanceof LibvirtFfiHypervisor) await a.close();
      if (b instanceof LibvirtFfiHypervisor) await b.close();
    }
  } finally {
    await acquired.teardown();
  }
}

console.log(`default adapter: ${DEFAULT_HYPERVISOR_ADAPTER} (actuators/hypervisor-factory.ts says why)`);
const m = migrationS[DEFAULT_HYPERVISOR_ADAPTER];
console.log(`hypervisor stats_1000_ms_virsh=${fmt(statsMs.virsh)} stats_1000_ms_ffi=${fmt(statsMs.ffi)} migration_s=${m === undefined ? 'n/a' : fmt(m, 2)}`);
