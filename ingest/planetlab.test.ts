import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../core/index.ts';
import { validateSample } from '../schemas/index.ts';
import { PlanetLabReplay } from './index.ts';

const DAY_DIR = '/work/shared/data/traces/planetlab/20110303';
const MIB = 1024 ** 2;
const TS = Date.UTC(2011, 2, 3);

/** Our own reading of a trace file: one integer per line. */
const readValues = (file: string): number[] => readFileSync(join(DAY_DIR, file), 'utf8').trim().split('\n').map((l) => parseInt(l, 10));
/** The first 40 files by code-unit order, which is the documented replay order. */
const first40 = readdirSync(DAY_DIR).filter((f) => !f.endsWith('.md')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, 40);

const throwsCode = (fn: () => unknown, code: string) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(hasCode(err, code), `expected NovaError ${code}, got ${String(err)}`);
    return true;
  });

describe('PlanetLabReplay on the 20110303 day', () => {
  const replay = new PlanetLabReplay({ dayDir: DAY_DIR, maxVms: 40, vmsPerHost: 10 });

  test('40 VMs at 10 per host make 4 hosts of 8 cores / 32 GiB, 288 five-minute steps', () => {
    assert.equal(replay.vms.length, 40);
    assert.equal(replay.hosts.length, 4);
    assert.equal(replay.steps, 288);
    assert.equal(replay.stepMs, 300_000);
    assert.deepEqual(replay.hosts.map((h) => [h.cpuCores, h.memBytes]), Array(4).fill([8, 32 * 1024 ** 3]));
    assert.equal(new Set(replay.hosts.map((h) => h.hostId)).size, 4);
    for (const h of replay.hosts) assert.equal(replay.vms.filter((v) => v.hostId === h.hostId).length, 10, h.hostId);
    assert.ok(replay.vms.every((v) => v.vcpus === 1));
  });

  test('VM memory follows the quarter of the file list: 870 / 1740 / 1740 / 613 MiB', () => {
    const expected = [870, 1740, 1740, 613].flatMap((m) => Array(10).fill(m * MIB));
    assert.deepEqual(replay.vms.map((v) => v.memBytes), expected);
  });

  test('VMs are the first 40 files in sorted name order, ids sanitised (names with spaces included)', () => {
    assert.ok(first40.some((f) => f.includes(' ')), 'the first 40 include a name with a space');
    assert.deepEqual(replay.vms.map((v) => v.vmId), first40.map((f) => f.replace(/[^A-Za-z0-9_.-]+/g, '_')));
  });

  test('tick values are the file values / 100 cores, for files read here', () => {
    for (const i of [0, 14, 39]) {
      const values = readValues(first40[i]!);
      assert.equal(values.length, 288);
      for (const k of [0, 1, 100, 287]) {
        const t = replay.tick(k, TS + k * replay.stepMs);
        const s = t.vms[i]!;
        assert.equal(s.cpuUsedCores, values[k]! / 100, `${first40[i]} step ${k}`);
        assert.equal(s.vcpus, 1);
        assert.equal(s.ts, TS + k * replay.stepMs);
      }
    }
  });

  test('a whole series matches the file, and ticks past the end repeat the last value', () => {
    const values = readValues(first40[7]!);
    assert.deepEqual(Array.from({ length: 288 }, (_, k) => replay.tick(k, TS).vms[7]!.cpuUsedCores), values.map((v) => v / 100));
    assert.equal(replay.tick(500, TS).vms[7]!.cpuUsedCores, values[287]! / 100);
  });

  test('ticks are pure functions of the step, and every sample is valid', () => {
    assert.deepEqual(replay.tick(42, TS), replay.tick(42, TS));
    const t = replay.tick(144, TS);
    assert.equal(t.hosts.length, 4);
    for (const sample of t.vms) validateSample({ kind: 'vm', sample }, TS);
    for (const sample of t.hosts) validateSample({ kind: 'host', sample }, TS);
  });

  test('the whole day replays: 1,052 VMs with unique ids', () => {
    const all = new PlanetLabReplay({ dayDir: DAY_DIR, vmsPerHost: 10 });
    assert.equal(all.vms.length, 1052);
    assert.equal(all.hosts.length, 106);
    assert.equal(new Set(all.vms.map((v) => v.vmId)).size, 1052);
    assert.equal(all.steps, 288);
  });
});

describe('PlanetLabReplay input errors', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'novacron-planetlab-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const day = (name: string, files: Record<string, string>): string => {
    const d = join(dir, name);
    mkdirSync(d);
    for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), body);
    return d;
  };
  const good = Array(5).fill('12').join('\n') + '\n';

  // The files are read by traces/ (traces/planetlab.test.ts); the replay passes its errors on.
  test('a value over 100 is TRACE_INVALID', () => {
    throwsCode(() => new PlanetLabReplay({ dayDir: day('over', { 'a host_slice': good, b: '10\n150\n3\n' }), vmsPerHost: 2 }), 'TRACE_INVALID');
  });

  test('a non-numeric or negative value is TRACE_INVALID', () => {
    throwsCode(() => new PlanetLabReplay({ dayDir: day('abc', { a: good, b: '10\nabc\n' }), vmsPerHost: 2 }), 'TRACE_INVALID');
    throwsCode(() => new PlanetLabReplay({ dayDir: day('neg', { a: '-1\n' }), vmsPerHost: 2 }), 'TRACE_INVALID');
  });

  test('a missing folder is TRACE_MISSING', () => {
    throwsCode(() => new PlanetLabReplay({ dayDir: join(dir, 'does-not-exist'), vmsPerHost: 10 }), 'TRACE_MISSING');
  });

  test('a folder without trace files is TRACE_MISSING', () => {
    throwsCode(() => new PlanetLabReplay({ dayDir: day('empty', { 'SOURCE.md': '# notes\n' }), vmsPerHost: 10 }), 'TRACE_MISSING');
  });

  test('bad options are typed errors', () => {
    const d = day('opts', { a: good });
    throwsCode(() => new PlanetLabReplay({ dayDir: d, vmsPerHost: 0 }), 'INGEST_OPTION_INVALID');
    throwsCode(() => new PlanetLabReplay({ dayDir: d, vmsPerHost: 1, maxVms: 0 }), 'TRACE_OPTION_INVALID');
  });

  test('a small valid folder: CRLF and blank lines are tolerated, steps is the shortest file', () => {
    const d = day('small', { 'x y': '1\r\n2\r\n3\r\n\r\n', z: '50\n60\n70\n80\n', 'README.md': 'ignored' });
    const r = new PlanetLabReplay({ dayDir: d, vmsPerHost: 1 });
    assert.equal(r.steps, 3);
    assert.deepEqual(r.vms.map((v) => v.vmId), ['x_y', 'z']);
    assert.equal(r.hosts.length, 2);
    assert.deepEqual(r.tick(2, TS).vms.map((v) => v.cpuUsedCores), [0.03, 0.7]);
  });
});
