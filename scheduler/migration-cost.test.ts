import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateMigration, migrationCostWh, migrationSeconds } from './migration-cost.ts';

const GIB = 1024 ** 3;
const model = { bandwidth: 1.25e9, maxSeconds: 300, degradationWatts: 400 };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${a} ≈ ${b}`);

test('a quiet VM migrates in memory / bandwidth, degrading two hosts meanwhile', () => {
  const e = estimateMigration(4 * GIB, 0, model);
  close(e.seconds, (4 * GIB) / 1.25e9);
  close(e.hostSeconds, 2 * e.seconds);
  close(e.costWh, (e.hostSeconds * 400) / 3600);
  assert.equal(e.nonConverging, false);
  assert.equal(migrationSeconds(0, 0, model), 0);
});

test('dirtying memory slows pre-copy: memory / (bandwidth − dirty rate)', () => {
  close(migrationSeconds(4 * GIB, 0.625e9, model), (4 * GIB) / 0.625e9);
  assert.ok(migrationSeconds(4 * GIB, 1e9, model) > migrationSeconds(4 * GIB, 0.5e9, model));
});

test('a VM dirtying as fast as the link never converges: its time is the cap, and it is flagged', () => {
  for (const dirty of [1.25e9, 5e9]) {
    const e = estimateMigration(GIB, dirty, model);
    assert.equal(e.seconds, 300);
    assert.equal(e.nonConverging, true);
  }
  // A huge VM that would converge is capped too, but is not flagged.
  const big = estimateMigration(4096 * GIB, 0, model);
  assert.equal(big.seconds, 300);
  assert.equal(big.nonConverging, false);
});

test('the cost scales with the price of a degraded host-second', () => {
  close(migrationCostWh(90, model), (90 * 2 * 400) / 3600);
  assert.equal(migrationCostWh(90, { ...model, degradationWatts: 0 }), 0);
});
