import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCatalog } from '../scheduler/index.ts';
import { bitbrainsCostHooks, catalogRates, costEffectLines, readBitbrainsProvisionedMemoryKb } from './bitbrains-cost.ts';
import { loadBitbrainsReplay } from './bitbrains-experiment.ts';
import { plannerPolicy } from './planner-policy.ts';
import { runBacktest } from './simulator.ts';

const HEADER = 'Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]';
const T0 = 1372629804;
const GIB = 1024 ** 3;

/** A Bitbrains-format file of `steps` rows, 300 s apart: constant usage, memory used and provisioned. */
function csv(steps: number, cores: number, capacityMhz: number, usageMhz: number, memUsedKb: number, memProvisionedKb: number): string {
  const lines = Array.from({ length: steps }, (_, i) => [T0 + i * 300, cores, capacityMhz, usageMhz, (usageMhz / capacityMhz) * 100, memProvisionedKb, memUsedKb, 0, 0, 0, 0].join(';\t'));
  // One row without a measurement (capacity 0) whose memory figure must not count.
  lines.push([T0 + steps * 300, 0, 0, 0, 0, 99_000_000, 0, 0, 0, 0, 0].join(';\t'));
  return `${[HEADER, ...lines].join('\n')}\n`;
}

const catalog = parseCatalog({
  version: 1,
  currency: 'USD',
  note: 'test prices, exactly 0.04 per vCPU-h + 0.005 per GiB-h',
  instances: [
    { provider: 'aws', region: 'r', instanceType: 'c', vcpus: 2, memoryGiB: 4, onDemandPerHour: 0.1 },
    { provider: 'aws', region: 'r', instanceType: 'm', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.12 },
    { provider: 'aws', region: 'r', instanceType: 'r', vcpus: 4, memoryGiB: 32, onDemandPerHour: 0.32 },
  ],
});

test('catalogRates recovers per-vCPU and per-GiB prices from the offers', () => {
  const r = catalogRates(catalog);
  assert.ok(Math.abs(r.perVcpuHour - 0.04) < 1e-12 && Math.abs(r.perGiBHour - 0.005) < 1e-12 && r.offers === 3);
});

test('the Bitbrains cost hooks: the plans rightsize every VM, never change a move, and sum up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitbrains-cost-'));
  try {
    const steps = 200;
    // 4 vCPUs of 2,600 MHz using 520 MHz (0.2 vCPU) and 1,000,000 KB of 8,000,000 provisioned; a 1-vCPU VM using 80 %.
    writeFileSync(join(dir, '1.csv'), csv(steps, 4, 10_400, 520, 1_000_000, 8_000_000));
    writeFileSync(join(dir, '2.csv'), csv(steps, 1, 2_600, 2_080, 500_000, 2_000_000));
    const provisioned = readBitbrainsProvisionedMemoryKb(dir);
    const name = (f: string) => `${dir.split('/').at(-1)}/${f}`;
    assert.deepEqual([...provisioned], [[name('1.csv'), 8_000_000], [name('2.csv'), 2_000_000]]);

    const replay = loadBitbrainsReplay(dir, { hosts: 2 });
    assert.deepEqual(replay.vms.map((v) => v.cores), [4, 1]);
    assert.equal(replay.vms[0]!.memoryKb[10], 1_000_000);
    const hooks = bitbrainsCostHooks(replay, { catalog, provisionedMemoryKb: provisioned });
    const withCost = runBacktest(replay.experiment, plannerPolicy(hooks.options));
    const without = runBacktest(replay.experiment, plannerPolicy());
    assert.deepEqual([withCost.energyKWh, withCost.migrations, withCost.slav], [without.energyKWh, without.migrations, without.slav], 'cost inputs never change a move');

    const e = hooks.effect();
    const ticks = replay.experiment.ticks;
    assert.equal(e.ticks, ticks);
    assert.equal(e.rightsizedTicks, ticks - 23, 'from the 24th sample on');
    // VM 1: 0.2 vCPU × 1.2 → 1 vCPU (frees 3); 0.95 GiB × 1.1 → 1.25 GiB of 7.63. VM 2: 0.8 × 1.2 = 0.96 → 1 vCPU (keeps); 0.48 GiB × 1.1 → 0.75 GiB of 1.91.
    const memFreed = (8_000_000 * 1024 - 1.25 * GIB) + (2_000_000 * 1024 - 0.75 * GIB);
    assert.deepEqual(e.last && [e.last.vms, e.last.downsize, e.last.vcpusFreed, e.last.vcpusAdded, e.last.memBytesAdded], [2, 2, 3, 0, 0]);
    assert.equal(e.last!.memBytesFreed, memFreed);
    assert.equal(e.meanNetVcpus, 3);
    assert.ok(Math.abs(e.monthlyValue - (3 * 0.04 + (memFreed / GIB) * 0.005) * 730) < 1e-6);
    assert.deepEqual([e.burstTicks, e.onPremShortTicks, e.repatriationTicks], [0, 0, 0]);
    const lines = costEffectLines('NovaCron', e, 61, 300);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /2 VMs, 2 downsize, 0 upsize, 0 keep: 3 vCPUs and 7\.5 GiB could be freed/);
    assert.match(lines[1]!, /USD\/month at ILLUSTRATIVE example-catalog on-demand prices .*0\.0400 USD per vCPU-h \+ 0\.0050 USD per GiB-h/);
    assert.match(lines[2]!, /burst-out suggested at 0 of \d+ plans .*repatriation at 0 \(the trace has no cloud VMs\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
