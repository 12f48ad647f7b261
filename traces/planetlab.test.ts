import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode, loadConfig } from '../core/index.ts';
import {
  defaultOrderFile,
  listPlanetLabFiles,
  parsePlanetLabText,
  planetLabDays,
  planetLabDayStart,
  planetLabFileOrder,
  PLANETLAB_SAMPLES,
  readOrderFile,
  readPlanetLabDay,
  readPlanetLabFile,
} from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'novacron-traces-planetlab-'));
after(() => rmSync(root, { recursive: true, force: true }));

const throwsCode = (fn: () => unknown, code: string, message?: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(hasCode(err, code), `expected NovaError ${code}, got ${String(err)}`);
    if (message) assert.match(err.message, message);
    return true;
  });

/** A folder `name` under the temporary root holding `files`. */
function folder(name: string, files: Record<string, string>): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), body);
  return d;
}

describe('parsePlanetLabText', () => {
  test('one integer CPU % per line; CRLF and blank lines at the end are accepted', () => {
    assert.deepEqual([...parsePlanetLabText('24\n34\r\n0\n100\n', 'f')], [24, 34, 0, 100]);
    assert.deepEqual([...parsePlanetLabText('1\r\n2\r\n3\r\n\r\n\n', 'f')], [1, 2, 3]);
    assert.deepEqual([...parsePlanetLabText('5', 'f')], [5]);
  });

  test('anything else is TRACE_INVALID, naming the file and line', () => {
    throwsCode(() => parsePlanetLabText('1\n2\nx\n3\n', 'f'), 'TRACE_INVALID', /f line 3: .*"x"/);
    throwsCode(() => parsePlanetLabText('10\n150\n', 'f'), 'TRACE_INVALID', /line 2/);
    throwsCode(() => parsePlanetLabText('-1\n', 'f'), 'TRACE_INVALID', /line 1/);
    throwsCode(() => parsePlanetLabText('1\n2 \n3\n', 'f'), 'TRACE_INVALID', /line 2/);
    throwsCode(() => parsePlanetLabText('1.5\n', 'f'), 'TRACE_INVALID');
    // A blank line inside is not a missing sample: the format has none.
    throwsCode(() => parsePlanetLabText('7\n\n9\n', 'f'), 'TRACE_INVALID', /line 2/);
    throwsCode(() => parsePlanetLabText('\n\n', 'f'), 'TRACE_INVALID', /no values/);
  });
});

describe('a PlanetLab day folder', () => {
  const day = folder('20110303', { 'b_slice': '3\n4\n', 'a host_slice': '1\n2\n', '.hidden': 'x', 'SOURCE.md': '# notes', 'B upper': '5\n6\n' });
  mkdirSync(join(day, 'sub'));

  test('lists its trace files in code-unit order, without hidden files, notes and folders', () => {
    assert.deepEqual(listPlanetLabFiles(day), ['B upper', 'a host_slice', 'b_slice']);
  });

  test('reads every file in that order, or the first maxVms', () => {
    const d = readPlanetLabDay(day);
    assert.equal(d.day, '20110303');
    assert.deepEqual(d.names, ['B upper', 'a host_slice', 'b_slice']);
    assert.deepEqual(d.percent.map((p) => [...p]), [[5, 6], [1, 2], [3, 4]]);
    assert.deepEqual(d.order, { kind: 'sorted', reason: 'no file-order list given' });
    assert.deepEqual(readPlanetLabDay(day, { maxVms: 2 }).names, ['B upper', 'a host_slice']);
    throwsCode(() => readPlanetLabDay(day, { maxVms: 0 }), 'TRACE_OPTION_INVALID');
  });

  test('a missing folder, or one without trace files, is TRACE_MISSING; a missing file too', () => {
    throwsCode(() => listPlanetLabFiles(join(root, 'does-not-exist')), 'TRACE_MISSING');
    throwsCode(() => readPlanetLabDay(folder('empty', { 'SOURCE.md': '# notes\n' })), 'TRACE_MISSING', /no trace files/);
    throwsCode(() => readPlanetLabFile(join(day, 'nope')), 'TRACE_MISSING');
  });

  test('a bad file fails the whole day with TRACE_INVALID', () => {
    throwsCode(() => readPlanetLabDay(folder('bad-day', { a: '1\n', b: '1\nabc\n' })), 'TRACE_INVALID', /bad-day\/b line 2/);
  });

  test('day folders and their start (midnight UTC)', () => {
    folder('not-a-day', { a: '1\n' });
    assert.deepEqual(planetLabDays(root), ['20110303']);
    assert.equal(planetLabDayStart('20110303'), Date.UTC(2011, 2, 3) / 1000);
    throwsCode(() => planetLabDayStart('not-a-day'), 'TRACE_INVALID');
  });
});

describe('file-order lists', () => {
  const day = folder('ordered', { x: '1\n', y: '2\n', 'z z': '3\n' });

  test('the list gives the VM order, names verbatim (spaces, CRLF)', () => {
    const list = join(root, 'order.txt');
    writeFileSync(list, 'z z\r\nx\r\ny\r\n');
    assert.deepEqual(readOrderFile(list), ['z z', 'x', 'y']);
    const read = readPlanetLabDay(day, { orderFile: list });
    assert.deepEqual(read.names, ['z z', 'x', 'y']);
    assert.deepEqual(read.percent.map((p) => p[0]), [3, 1, 2]);
    assert.deepEqual(read.order, { kind: 'order-file', path: list });
  });

  test('no list at the path: sorted order, saying why', () => {
    const at = join(root, 'no-such-order.txt');
    assert.deepEqual(planetLabFileOrder(day, at), { names: ['x', 'y', 'z z'], order: { kind: 'sorted', reason: `no file-order list at ${at}` } });
  });

  test('a list that does not name exactly the files is TRACE_ORDER_MISMATCH; an unreadable one TRACE_ORDER_MISSING', () => {
    const write = (name: string, text: string) => {
      writeFileSync(join(root, name), text);
      return join(root, name);
    };
    throwsCode(() => planetLabFileOrder(day, write('short.txt', 'x\ny\n')), 'TRACE_ORDER_MISMATCH', /1 files are not listed/);
    throwsCode(() => planetLabFileOrder(day, write('extra.txt', 'x\ny\nz z\nw\n')), 'TRACE_ORDER_MISMATCH', /1 listed names are not files \(e\.g\. "w"\)/);
    throwsCode(() => planetLabFileOrder(day, write('dup.txt', 'x\ny\nz z\nx\n')), 'TRACE_ORDER_MISMATCH', /1 duplicates/);
    throwsCode(() => readOrderFile(root), 'TRACE_ORDER_MISSING');
  });

  test('the default list sits in docs/ beside the data folder', () => {
    assert.equal(defaultOrderFile('/data/shared/data', '20110303'), '/data/shared/docs/planetlab-file-order-20110303.txt');
  });
});

describe('the shared PlanetLab days', () => {
  const dataDir = loadConfig().dataDir;
  for (const [dayName, vms] of [['20110303', 1052], ['20110306', 898]] as const) {
    const dir = join(dataDir, 'traces', 'planetlab', dayName);
    const order = defaultOrderFile(dataDir, dayName);
    const skip = existsSync(dir) && existsSync(order) ? false : `PlanetLab ${dayName} or its file-order list is not under ${dataDir} (set NOVACRON_DATA)`;
    test(`${dayName}: ${vms} files of ${PLANETLAB_SAMPLES} values, the order list names them all, values as written`, { skip }, () => {
      const d = readPlanetLabDay(dir, { orderFile: order });
      assert.equal(d.order.kind, 'order-file');
      assert.equal(d.names.length, vms);
      assert.deepEqual([...d.names].sort(), readdirSync(dir).filter((f) => !f.endsWith('.md')).sort());
      assert.ok(d.percent.every((p) => p.length === PLANETLAB_SAMPLES));
      for (const i of [0, 500, vms - 1]) {
        const written = readFileSync(join(dir, d.names[i]!), 'utf8').trim().split('\n').map((l) => Number.parseInt(l, 10));
        assert.deepEqual([...d.percent[i]!], written, d.names[i]);
      }
    });
  }
});
