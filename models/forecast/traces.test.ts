import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toGrid } from './series.ts';
import { discoverTraceFolders } from '../../traces/index.ts';
import { alibabaMachineSeries, azureWideSeries, bitbrainsVmSeries, planetLabDaySeries, readTraceFolder } from './traces.ts';

const root = mkdtempSync(join(tmpdir(), 'novacron-traces-'));
after(() => rmSync(root, { recursive: true, force: true }));

const same = (actual: ArrayLike<number>, expected: number[]) => {
  assert.equal(actual.length, expected.length, `length ${actual.length} is not ${expected.length}`);
  expected.forEach((e, i) => (Number.isNaN(e) ? assert.ok(Number.isNaN(actual[i]!), `[${i}] is ${actual[i]}, not NaN`) : assert.ok(Math.abs(actual[i]! - e) < 1e-9, `[${i}] is ${actual[i]}, not ${e}`)));
};

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

// A traces folder in the shared layout, plus a renamed PlanetLab copy and an unknown folder.
// Reading and validating the files is traces/'s (tested there); here they become series.
write(join(root, 'planetlab', '20110303', 'node_a_slice'), '1\n2\n3\n');
write(join(root, 'planetlab', '20110303', 'node_b_ slice with space'), '7\n8\n9\n');
write(join(root, 'pl-copy', '20110306', 'node_c_slice'), '4\n5\n');
write(join(root, 'aggregates', 'x.csv'), 'a,b\n1,2\n');
const T0 = 1375315200; // 2013-08-01 00:00 UTC, a multiple of 300 s
const HEADER = 'Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]';
const row = (ts: number, cpu: number, mem: number) => `${ts};\t1;\t2600;\t0;\t${cpu};\t2097152.0;\t${mem};\t0;\t0;\t0;\t0`;
write(join(root, 'bitbrains-rnd', '2013-8', '12.csv'), [
  HEADER,
  row(T0, 10, 100),
  row(T0 + 299, 20, 200), // bin 0 as well: averaged with the first
  row(T0 + 600, 40, 400), // bin 2; bin 1 is a single gap, interpolated
  row(T0 + 900, 50, 500),
  row(T0 + 2100, 90, 900), // bin 7; bins 4-6 a real outage
  '',
].join('\n'));
write(join(root, 'bitbrains-rnd', '2013-8', 'index.csv'), 'vm,rows\n12,5\n');
write(join(root, 'azure-v1-sample', 'microsoft_avg_100.csv'), 'step,vm_1,vm_2\n0,1.5,2\n1,2.5,3\n2,NA,4');
write(join(root, 'azure-v1-sample', 'microsoft_max_100.csv'), 'step,vm_1,vm_2\n0,5,6\n1,7,8\n2,9,10\n');
write(join(root, 'alibaba', 'machine_usage.csv'), 'm_2,0,10,50,,,1,1,5\nm_2,60,20,52,,,1,1,5\nm_2,300,30,101,,,1,1,5\nm_1,600,5,40,,,1,1,5\n');

test('toGrid averages samples per 300-s bin, interpolates single gaps, keeps outages missing', () => {
  const g = toGrid([600, 700, 900, 1500, 2700], [1, 3, 6, 10, 30]);
  assert.equal(g.startSec, 600);
  // bins 600: (1+3)/2, 900: 6, 1200: gap → 8, 1500: 10, 1800-2400 missing, 2700: 30
  same(g.values, [2, 6, 8, 10, NaN, NaN, NaN, 30]);
});

test('PlanetLab day: one series per file, 5-minute steps from midnight UTC of the folder date', () => {
  const s = planetLabDaySeries(join(root, 'planetlab', '20110303'), '20110303');
  assert.deepEqual(s.map((x) => x.id), ['planetlab/20110303/node_a_slice', 'planetlab/20110303/node_b_ slice with space']);
  same(s[0]!.values, [1, 2, 3]);
  same(s[1]!.values, [7, 8, 9]);
  assert.equal(s[0]!.startSec, Date.UTC(2011, 2, 3) / 1000);
  assert.equal(s[0]!.group, 'planetlab/cpu');
  assert.equal(s[0]!.entity, 'planetlab/node_a_slice');
  assert.equal(s[0]!.absoluteTime, true);
  assert.throws(() => planetLabDaySeries(root, 'not-a-day'), { code: 'TRACE_INVALID' });
});

test('Bitbrains VM: CPU % and memory KB on the 5-minute grid, seconds despite the [ms] header', () => {
  const [cpu, mem] = bitbrainsVmSeries(join(root, 'bitbrains-rnd', '2013-8', '12.csv'), '12', '2013-8');
  assert.equal(cpu!.startSec, T0);
  same(cpu!.values, [15, 27.5, 40, 50, NaN, NaN, NaN, 90]);
  same(mem!.values, [150, 275, 400, 500, NaN, NaN, NaN, 900]);
  assert.deepEqual([cpu!.group, mem!.group, cpu!.entity, mem!.entity], ['bitbrains/cpu', 'bitbrains/mem', 'bitbrains/12', 'bitbrains/12']);
});

test('Azure wide CSV: one series per VM column; avg and max of a VM share the entity', () => {
  const avg = azureWideSeries(join(root, 'azure-v1-sample', 'microsoft_avg_100.csv'), 'azure/cpu-avg');
  assert.deepEqual(avg.map((s) => s.id), ['azure/cpu-avg/vm_1', 'azure/cpu-avg/vm_2']);
  same(avg[0]!.values, [1.5, 2.5, NaN]);
  same(avg[1]!.values, [2, 3, 4]);
  assert.equal(avg[0]!.entity, 'azure/vm_1');
  assert.equal(avg[0]!.absoluteTime, false);
});

test('Alibaba machine_usage: per machine CPU and memory on the grid, invalid readings missing', () => {
  const s = alibabaMachineSeries(join(root, 'alibaba', 'machine_usage.csv'));
  assert.deepEqual(s.map((x) => x.id), ['alibaba/m_1/cpu', 'alibaba/m_1/mem', 'alibaba/m_2/cpu', 'alibaba/m_2/mem']);
  same(s[2]!.values, [15, 30]);
  same(s[3]!.values, [51, NaN]);
  assert.equal(s[0]!.startSec, 600);
});

test('readTraceFolder reads every series of each discovered folder; unknown folders give none', () => {
  const bySize = Object.fromEntries(discoverTraceFolders(root).map((f) => [f.name, readTraceFolder(f).length]));
  assert.deepEqual(bySize, { aggregates: 0, alibaba: 4, 'azure-v1-sample': 4, 'bitbrains-rnd': 2, 'pl-copy': 1, planetlab: 2 });
});
