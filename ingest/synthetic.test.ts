import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { validateSample, type VmSample } from '../schemas/index.ts';
import { GIB, SyntheticFleet, hostSamplesFor, type FleetTick, type SimHost } from './index.ts';

const START = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const OVERHEAD_CORES = 0.2; // fleet.ts HOST_OVERHEAD_CORES
const OVERHEAD_MEM = 2 * GIB; // fleet.ts HOST_OVERHEAD_MEM

function ticks(seed: number, n: number, opts = { hosts: 3, vmsPerHost: 6, stepMs: 300_000 }): FleetTick[] {
  const fleet = new SyntheticFleet({ ...opts, seed });
  return Array.from({ length: n }, (_, k) => fleet.tick(k, START + k * fleet.stepMs));
}

const vmSample = (vmId: string, hostId: string, cpuUsedCores: number, memUsedBytes = GIB): VmSample => ({
  ts: START, hostId, vmId, cpuUsedCores, vcpus: 8, memUsedBytes, memTotalBytes: 16 * GIB,
  diskReadBps: 1, diskWriteBps: 2, netRxBps: 3, netTxBps: 4, vcpuDelayPct: 0,
});

describe('SyntheticFleet', () => {
  test('the same seed gives identical fleets and ticks', () => {
    const a = new SyntheticFleet({ hosts: 3, vmsPerHost: 6, seed: 42, stepMs: 300_000 });
    const b = new SyntheticFleet({ hosts: 3, vmsPerHost: 6, seed: 42, stepMs: 300_000 });
    assert.deepEqual(a.vms, b.vms);
    assert.deepEqual(a.hosts, b.hosts);
    assert.deepEqual(ticks(42, 20), ticks(42, 20));
  });

  test('a different seed gives different VM shapes and usage', () => {
    const a = ticks(1, 5);
    const b = ticks(2, 5);
    const cpu = (t: FleetTick[]) => t.flatMap((x) => x.vms.map((v) => v.cpuUsedCores));
    assert.notDeepEqual(cpu(a), cpu(b));
    const shapes = (seed: number) => new SyntheticFleet({ hosts: 3, vmsPerHost: 6, seed, stepMs: 300_000 }).vms.map((v) => v.vcpus);
    assert.notDeepEqual(shapes(1), shapes(2));
  });

  test('has the configured size, with unique VM ids placed on existing hosts', () => {
    const fleet = new SyntheticFleet({ hosts: 4, vmsPerHost: 7, seed: 3, stepMs: 60_000 });
    assert.equal(fleet.hosts.length, 4);
    assert.equal(fleet.vms.length, 28);
    assert.equal(new Set(fleet.vms.map((v) => v.vmId)).size, 28);
    const hostIds = new Set(fleet.hosts.map((h) => h.hostId));
    assert.ok(fleet.vms.every((v) => hostIds.has(v.hostId)));
    const t = fleet.tick(0, START);
    assert.equal(t.ts, START);
    assert.equal(t.vms.length, 28);
    assert.equal(t.hosts.length, 4);
  });

  test('every VM and host sample over two days passes validateSample', () => {
    for (const t of ticks(7, 2 * 24 * 12)) {
      for (const sample of t.vms) assert.doesNotThrow(() => validateSample({ kind: 'vm', sample }, t.ts), `${sample.vmId} at ${t.ts}`);
      for (const sample of t.hosts) assert.doesNotThrow(() => validateSample({ kind: 'host', sample }, t.ts), `${sample.hostId} at ${t.ts}`);
    }
  });

  test('host samples are the sum of their VMs plus overhead, capped at capacity', () => {
    // 30 VMs per host: daytime peaks overcommit the 32/48-core hosts, nights do not.
    const fleet = new SyntheticFleet({ hosts: 2, vmsPerHost: 30, seed: 11, stepMs: HOUR });
    let capped = 0;
    let uncapped = 0;
    for (let k = 0; k < 48; k++) {
      const t = fleet.tick(k, START + k * HOUR);
      for (const h of t.hosts) {
        const mine = t.vms.filter((v) => v.hostId === h.hostId);
        const demand = OVERHEAD_CORES + mine.reduce((a, v) => a + v.cpuUsedCores, 0);
        assert.ok(Math.abs(h.cpuUsedCores - Math.min(demand, h.cpuCapacityCores)) < 1e-9, `${h.hostId} cpu`);
        assert.equal(h.memUsedBytes, Math.min(OVERHEAD_MEM + mine.reduce((a, v) => a + v.memUsedBytes, 0), h.memTotalBytes));
        assert.equal(h.netRxBps, mine.reduce((a, v) => a + v.netRxBps, 0));
        assert.equal(h.diskWriteBps, mine.reduce((a, v) => a + v.diskWriteBps, 0));
        if (demand > h.cpuCapacityCores) {
          capped++;
          assert.ok(h.cpuStealPct > 0);
        } else {
          uncapped++;
          assert.equal(h.cpuStealPct, 0);
        }
      }
    }
    assert.ok(uncapped > 0, 'some ticks are under capacity');
    assert.ok(capped > 0, 'some ticks overcommit the host');
  });

  test('has a daily cycle: fleet CPU at 14:00 UTC (inside every peak window) is well above 02:00 UTC', () => {
    for (const seed of [1, 2, 3, 42]) {
      const fleet = new SyntheticFleet({ hosts: 4, vmsPerHost: 10, seed, stepMs: HOUR });
      const meanUtil = (hourOfDay: number) => {
        let sum = 0;
        for (let d = 0; d < 3; d++) {
          const t = fleet.tick(0, START + d * 24 * HOUR + hourOfDay * HOUR);
          sum += t.vms.reduce((a, v) => a + v.cpuUsedCores / v.vcpus, 0) / t.vms.length;
        }
        return sum / 3;
      };
      const day = meanUtil(14);
      const night = meanUtil(2);
      // Peaks lie between 08:00 and 20:00: 14:00 is within 6 h of every peak, 02:00 at least 6 h away.
      assert.ok(day > 1.3 * night, `seed ${seed}: 14:00 mean ${day.toFixed(3)} vs 02:00 mean ${night.toFixed(3)}`);
    }
  });
});

describe('hostSamplesFor', () => {
  const hosts: SimHost[] = [
    { hostId: 'h1', cpuCores: 8, memBytes: 32 * GIB },
    { hostId: 'h2', cpuCores: 16, memBytes: 4 * GIB },
    { hostId: 'idle', cpuCores: 4, memBytes: 8 * GIB },
  ];

  test('sums VMs plus overhead per host, caps at capacity and reports the excess as steal', () => {
    const vms = [
      vmSample('a', 'h1', 3), vmSample('b', 'h1', 2.5),
      vmSample('c', 'h2', 10), vmSample('d', 'h2', 9.8, 3 * GIB),
      vmSample('orphan', 'nowhere', 5),
    ];
    const out = hostSamplesFor(hosts, vms, START);
    const by = new Map(out.map((h) => [h.hostId, h]));
    assert.deepEqual(out.map((h) => h.hostId), ['h1', 'h2', 'idle']);

    const h1 = by.get('h1')!;
    assert.ok(Math.abs(h1.cpuUsedCores - 5.7) < 1e-9);
    assert.equal(h1.cpuStealPct, 0);
    assert.equal(h1.memUsedBytes, 2 * GIB + 2 * GIB);
    assert.equal(h1.diskReadBps, 2);
    assert.equal(h1.netTxBps, 8);
    assert.equal(h1.ts, START);
    assert.equal(h1.cpuCapacityCores, 8);
    assert.equal(h1.memTotalBytes, 32 * GIB);

    // h2: 0.2 + 19.8 = 20 cores of demand on 16: used 16, 4 cores over = 25 % steal; memory capped too.
    const h2 = by.get('h2')!;
    assert.equal(h2.cpuUsedCores, 16);
    assert.ok(Math.abs(h2.cpuStealPct - 25) < 1e-9, `steal ${h2.cpuStealPct}`);
    assert.equal(h2.memUsedBytes, 4 * GIB);

    const idle = by.get('idle')!;
    assert.equal(idle.cpuUsedCores, OVERHEAD_CORES);
    assert.equal(idle.memUsedBytes, OVERHEAD_MEM);
    assert.equal(idle.cpuStealPct, 0);
  });

  test('steal is capped at 100 %', () => {
    const [h] = hostSamplesFor([{ hostId: 'tiny', cpuCores: 1, memBytes: 8 * GIB }], [vmSample('x', 'tiny', 5)], START);
    assert.equal(h!.cpuUsedCores, 1);
    assert.equal(h!.cpuStealPct, 100);
  });
});

test('fleets made side by side with firstHost have the ids and host shapes of the one whole fleet, none twice', () => {
  const whole = new SyntheticFleet({ hosts: 10, vmsPerHost: 2, seed: 3, stepMs: 1000 });
  const parts = [0, 4, 7].map((firstHost, i, starts) => new SyntheticFleet({ hosts: (starts[i + 1] ?? 10) - firstHost, firstHost, vmsPerHost: 2, seed: 3 + i, stepMs: 1000 }));
  assert.deepEqual(parts.flatMap((f) => f.hosts), whole.hosts);
  const vmIds = parts.flatMap((f) => f.vms.map((v) => v.vmId));
  assert.deepEqual(vmIds, whole.vms.map((v) => v.vmId));
  assert.equal(new Set(vmIds).size, 20);
  assert.deepEqual(parts[1]!.tick(0, 1_000).vms.map((v) => v.hostId), ['host-005', 'host-005', 'host-006', 'host-006', 'host-007', 'host-007']);
});
