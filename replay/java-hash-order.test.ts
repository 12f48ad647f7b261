import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacityAfterPuts, hashIterationOrder, javaStringHash, vmKeyHashes } from './java-hash-order.ts';

test('String.hashCode as Java computes it, int overflow included', () => {
  assert.equal(javaStringHash('hello'), 99162322);
  assert.equal(javaStringHash('2-0'), (50 * 31 + 45) * 31 + 48);
  assert.equal(javaStringHash('polygenelubricants'), -2147483648);
  assert.equal(javaStringHash(''), 0);
});

test('the map doubles past 3/4 full and never shrinks', () => {
  const hashes = Int32Array.from({ length: 64 }, (_, i) => i); // one key per bucket
  const list = (n: number) => Array.from({ length: n }, (_, i) => i);
  assert.equal(capacityAfterPuts(list(12), 0, 16, hashes), 16);
  assert.equal(capacityAfterPuts(list(13), 0, 16, hashes), 32);
  assert.equal(capacityAfterPuts(list(25), 0, 16, hashes), 64);
  assert.equal(capacityAfterPuts(list(3), 0, 64, hashes), 64);
});

test('a 9th key in one bucket resizes a table smaller than 64 (treeifyBin)', () => {
  const sameBucket = Int32Array.from({ length: 9 }, (_, i) => i * 64); // all in bucket 0 of 16 and 32
  const list = Array.from({ length: 9 }, (_, i) => i);
  assert.equal(capacityAfterPuts(list.slice(0, 8), 0, 16, sameBucket), 16);
  assert.equal(capacityAfterPuts(list, 0, 16, sameBucket), 32);
});

test('iteration goes bucket by bucket, keeping list order within a bucket', () => {
  const hashes = Int32Array.from([5, 1, 17, 3, 1]); // buckets of 16: 5, 1, 1, 3, 1
  const order = hashIterationOrder([0, 1, 2, 3, 4], 5, 16, hashes, new Int32Array(5));
  assert.deepEqual([...order], [1, 2, 4, 3, 0]);
  const wide = hashIterationOrder([0, 1, 2, 3, 4], 5, 32, hashes, new Int32Array(5)); // 17 now has its own bucket
  assert.deepEqual([...wide], [1, 4, 3, 0, 2]);
  assert.equal(vmKeyHashes(3)[2], javaStringHash('2-2') ^ (javaStringHash('2-2') >>> 16));
});
