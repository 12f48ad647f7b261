import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLEET_GROUPS, historiesToSeries } from './fleet-source.ts';

test('fleet histories become CPU and memory series on the 5-minute grid', () => {
  const t0 = Date.UTC(2024, 0, 10, 12, 0);
  const points = [0, 60, 300, 900].map((s, i) => ({ ts: t0 + s * 1000, cpuCores: i + 1, memBytes: 1000 * (i + 1) }));
  const [cpu, mem] = historiesToSeries([{ vmId: 'vm-a', hostId: 'h1', vcpus: 4, memTotalBytes: 8e9, points }]);
  assert.equal(cpu!.startSec, t0 / 1000);
  assert.deepEqual(Array.from(cpu!.values), [1.5, 3, 3.5, 4]); // bin 2 interpolated between 3 and 4
  assert.deepEqual(Array.from(mem!.values), [1500, 3000, 3500, 4000]);
  assert.deepEqual([cpu!.group, mem!.group, cpu!.entity, mem!.entity], [FLEET_GROUPS.cpu, FLEET_GROUPS.mem, 'fleet/vm-a', 'fleet/vm-a']);
});
