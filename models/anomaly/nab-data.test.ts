import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNabCorpus, parseNabTimestamp } from './index.ts';

test('NAB timestamps parse as UTC, with or without the .000000 suffix', () => {
  assert.equal(parseNabTimestamp('2014-02-14 14:30:00'), Date.UTC(2014, 1, 14, 14, 30, 0));
  assert.equal(parseNabTimestamp('2014-02-14 14:30:00.000000'), parseNabTimestamp('2014-02-14 14:30:00'));
  assert.throws(() => parseNabTimestamp('14/02/2014'), { code: 'NAB_BAD_TIMESTAMP' });
});

function corpusDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nab-'));
  mkdirSync(join(dir, 'cat'));
  writeFileSync(join(dir, 'cat', 'a.csv'), 'timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,2.5\n2020-01-01 00:10:00,3\n');
  return dir;
}

test('loadNabCorpus reads exactly the files the windows file names, keyed by relative path', () => {
  const dir = corpusDir();
  writeFileSync(join(dir, 'cat', 'unlisted.csv'), 'timestamp,value\n');
  writeFileSync(join(dir, 'windows.json'), JSON.stringify({ 'cat/a.csv': [['2020-01-01 00:05:00.000000', '2020-01-01 00:10:00.000000']] }));
  const c = loadNabCorpus(dir, join(dir, 'windows.json'));
  assert.deepEqual(c.files.map((f) => f.key), ['cat/a.csv']);
  assert.deepEqual(c.files[0]!.values, [1, 2.5, 3]);
  assert.deepEqual(c.windows.get('cat/a.csv'), [[Date.UTC(2020, 0, 1, 0, 5), Date.UTC(2020, 0, 1, 0, 10)]]);
});

test('a file named by the windows file but missing is an error naming its path', () => {
  const dir = corpusDir();
  writeFileSync(join(dir, 'windows.json'), JSON.stringify({ 'cat/a.csv': [], 'cat/missing.csv': [] }));
  assert.throws(() => loadNabCorpus(dir, join(dir, 'windows.json')), (err: Error & { code?: string }) => err.code === 'NAB_FILE_MISSING' && err.message.includes(join(dir, 'cat', 'missing.csv')));
  assert.throws(() => loadNabCorpus(dir, join(dir, 'nope.json')), { code: 'NAB_FILE_MISSING' });
});

test('malformed labels and data fail with stable codes', () => {
  const dir = corpusDir();
  writeFileSync(join(dir, 'bad.json'), '{"cat/a.csv": [["2020-01-01 00:05:00"]]}');
  assert.throws(() => loadNabCorpus(dir, join(dir, 'bad.json')), { code: 'NAB_BAD_LABELS' });
  writeFileSync(join(dir, 'cat', 'b.csv'), 'timestamp,value\n2020-01-01 00:00:00,abc\n');
  writeFileSync(join(dir, 'w.json'), '{"cat/b.csv": []}');
  assert.throws(() => loadNabCorpus(dir, join(dir, 'w.json')), { code: 'NAB_BAD_CSV' });
});
