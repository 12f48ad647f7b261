import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../core/index.ts';
import { bitbrainsMonths, listBitbrainsFiles, parseBitbrainsCsv, readBitbrainsFile } from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'novacron-traces-bitbrains-'));
after(() => rmSync(root, { recursive: true, force: true }));

const HEADER = 'Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]';
const T0 = 1372629804;
/** A row: seconds after T0, capacity MHz, usage MHz, memory KB (2 cores; usage % derived). */
const row = (dt: number, cap: number, use: number, mem: number) => [T0 + dt, 2, cap, use, cap > 0 ? (use / cap) * 100 : 0, 8_000_000, mem, 0, 0, 0, 0].join(';\t');

const throwsCode = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (err: unknown) => hasCode(err, code) && message.test(err.message));

test('every row, columns by header title, sorted by time (ties keep file order), blank lines and CRLF skipped', () => {
  const text = [HEADER, row(600, 5852, 200, 2048), '', row(0, 0, 0, 0), row(600, 5852, 400, 4096), `${row(300, 5852, 100, 1024)}\r`, ''].join('\n');
  const t = parseBitbrainsCsv(text, 'x.csv');
  assert.equal(t.name, 'x.csv');
  assert.deepEqual([...t.time], [T0, T0 + 300, T0 + 600, T0 + 600]);
  assert.deepEqual([...t.capacityMhz], [0, 5852, 5852, 5852]);
  assert.deepEqual([...t.usageMhz], [0, 100, 200, 400]);
  assert.deepEqual([...t.usagePercent], [0, (100 / 5852) * 100, (200 / 5852) * 100, (400 / 5852) * 100]);
  assert.deepEqual([...t.memoryKb], [0, 1024, 2048, 4096]);
  assert.deepEqual([...t.cores], [2, 2, 2, 2]);
});

test('the "[ms]" timestamps are seconds; values above 1e11 are read as milliseconds', () => {
  const t = parseBitbrainsCsv([HEADER, row(0, 2600, 1, 1).replace(String(T0), String(T0 * 1000)), row(300, 2600, 1, 1)].join('\n'), 'ms.csv');
  assert.deepEqual([...t.time], [T0, T0 + 300]);
});

test('malformed files are TRACE_INVALID, saying what is wrong', () => {
  throwsCode(() => parseBitbrainsCsv('a;b\n1;2\n', 'h.csv'), 'TRACE_INVALID', /h\.csv: no column "Timestamp \[ms\]"/);
  throwsCode(() => parseBitbrainsCsv([HEADER, row(0, 2600, 10, 1).replace(';\t10;', ';\tabc;')].join('\n'), 'n.csv'), 'TRACE_INVALID', /n\.csv line 2: the CPU usage \[MHZ\] is "abc"/);
  throwsCode(() => parseBitbrainsCsv([HEADER, '1;\t2'].join('\n'), 'short.csv'), 'TRACE_INVALID', /line 2: the CPU capacity provisioned \[MHZ\] is ""/);
});

test('VM files of a month folder in numeric order; month folders; missing files and folders are TRACE_MISSING', () => {
  const month = join(root, 'dl', '2013-7');
  mkdirSync(month, { recursive: true });
  mkdirSync(join(root, 'dl', 'notes'));
  mkdirSync(join(month, '4.csv'));
  for (const f of ['2.csv', '10.csv', '1.csv', '3.csv', 'index.csv', 'SOURCE.md']) writeFileSync(join(month, f), `${HEADER}\n${row(0, 2600, 1, 1)}\n`);
  assert.deepEqual(listBitbrainsFiles(month), ['1.csv', '2.csv', '3.csv', '10.csv']);
  assert.deepEqual(bitbrainsMonths(join(root, 'dl')), ['2013-7']);
  assert.equal(readBitbrainsFile(join(month, '10.csv')).name, join(month, '10.csv'));
  assert.equal(readBitbrainsFile(join(month, '10.csv'), '2013-7/10.csv').name, '2013-7/10.csv');
  throwsCode(() => readBitbrainsFile(join(month, '99.csv')), 'TRACE_MISSING', /99\.csv/);
  throwsCode(() => listBitbrainsFiles(join(root, 'no-such-folder')), 'TRACE_MISSING', /no-such-folder/);
});
