import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../core/index.ts';
import { discoverTraceFolders, parseAlibabaMachineUsage, parseAzureWide, readAzureFolder } from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'novacron-traces-folders-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

test('Azure wide CSV: one column per VM, NA and blanks missing, the first step kept', () => {
  const t = parseAzureWide('step,vm_1,vm_2\n3,1.5,2\n4,NA,\n', 'a.csv');
  assert.deepEqual(t.vms, ['vm_1', 'vm_2']);
  assert.equal(t.firstStep, 3);
  assert.deepEqual(t.columns.map((c) => [...c]), [[1.5, NaN], [2, NaN]]);
  assert.throws(() => parseAzureWide('time,vm_1\n0,1\n', 'b.csv'), (e) => hasCode(e, 'TRACE_INVALID') && /b\.csv is not a wide Azure trace/.test(e.message));
});

test('an Azure folder: every *.csv with its metric from the name', () => {
  write(join(root, 'az', 'microsoft_avg_100.csv'), 'step,vm_1\n0,1\n');
  write(join(root, 'az', 'microsoft_max_100.csv'), 'step,vm_1\n0,2\n');
  write(join(root, 'az', 'SOURCE.md'), '# notes');
  assert.deepEqual(readAzureFolder(join(root, 'az')).map((f) => [f.file, f.metric, f.table.columns[0]![0]]), [
    ['microsoft_avg_100.csv', 'cpu-avg', 1],
    ['microsoft_max_100.csv', 'cpu-max', 2],
  ]);
});

test('Alibaba machine_usage: per machine in time order, -1 / 101 readings missing, rows without id or time skipped', () => {
  const m = parseAlibabaMachineUsage('m_2,300,30,101,,,1\nm_2,0,10,50\nm_1,600,-1,40\n,700,1,1\nm_1,x,1,1\n');
  assert.deepEqual(m.map((x) => x.machine), ['m_1', 'm_2']);
  assert.deepEqual([...m[1]!.time], [0, 300]);
  assert.deepEqual([...m[1]!.cpuPercent], [10, 30]);
  assert.deepEqual([...m[1]!.memPercent], [50, NaN]);
  assert.deepEqual([...m[0]!.cpuPercent], [NaN]);
});

test('discoverTraceFolders classifies by name, then by content; unknown folders are listed with no kind', () => {
  const d = join(root, 'traces');
  write(join(d, 'planetlab', '20110303', 'node_a_slice'), '1\n');
  write(join(d, 'pl-copy', '20110306', 'node_c_slice'), '4\n');
  write(join(d, 'bb-copy', '2013-8', '12.csv'), 'x');
  write(join(d, 'bitbrains-rnd', 'index.csv'), 'x');
  write(join(d, 'az-copy', 'microsoft_avg_1.csv'), 'x');
  write(join(d, 'ali-copy', 'machine_usage.csv'), 'x');
  write(join(d, 'aggregates', 'x.csv'), 'a,b\n1,2\n');
  write(join(d, 'bad', '1.csv'), 'a;b\n1;2\n');
  write(join(d, 'loose-file.csv'), 'x');
  assert.deepEqual(discoverTraceFolders(d).map((f) => [f.name, f.kind, f.perVm]), [
    ['aggregates', undefined, false],
    ['ali-copy', 'alibaba', false],
    ['az-copy', 'azure', true],
    ['bad', undefined, false],
    ['bb-copy', 'bitbrains', true],
    ['bitbrains-rnd', 'bitbrains', true],
    ['pl-copy', 'planetlab', true],
    ['planetlab', 'planetlab', true],
  ]);
  assert.throws(() => discoverTraceFolders(join(root, 'missing')), (e) => hasCode(e, 'TRACE_MISSING'));
});
