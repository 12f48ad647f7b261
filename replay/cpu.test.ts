import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateCpu, ROLE_IN, ROLE_NORMAL, ROLE_OUT } from './cpu.ts';

const R = Float64Array.from([500, 1200, 2000, 900]);

test('claims that fit are granted in full, capped at one core', () => {
  const alloc = new Float64Array(4);
  const available = allocateCpu(3, [0, 1, 2], null, R, 1860, 3720, alloc);
  assert.deepEqual([...alloc.subarray(0, 3)], [500, 1200, 1860]);
  assert.equal(available, 3720 - 500 - 1200 - 1860);
});

test('a VM migrating out gets 90 % but reserves its claim; one migrating in is charged 10 %', () => {
  const alloc = new Float64Array(4);
  const available = allocateCpu(3, [0, 1, 3], [ROLE_OUT, ROLE_NORMAL, ROLE_IN], R, 1860, 3720, alloc);
  assert.deepEqual([...alloc.subarray(0, 3)], [450, 1200, 90]);
  assert.equal(available, 3720 - 500 - 1200 - 90);
});

test('an oversubscribed host scales every claim by C / Σ claims and floors it; nothing is left', () => {
  const alloc = new Float64Array(4);
  const big = Float64Array.from([500, 1200, 2000, 9000]);
  // Claims 500 + 1200 + 1860 + 10 % of 1860 = 3746 > 3720.
  const available = allocateCpu(4, [0, 1, 2, 3], [ROLE_NORMAL, ROLE_OUT, ROLE_NORMAL, ROLE_IN], big, 1860, 3720, alloc);
  const s = 3720 / (500 + 1200 + 1860 + 1860 * 0.1);
  assert.equal(available, 0);
  assert.deepEqual([...alloc], [Math.floor(500 * s), Math.floor(1200 * s * 0.9), Math.floor(1860 * s), Math.floor(1860 * 0.1 * s)]);
});
