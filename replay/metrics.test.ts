import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRecorder } from './metrics.ts';

test('an entry with the same timestamp replaces the previous one; the last entry opens no interval', () => {
  const m = new MetricsRecorder(1, 1);
  m.host(0, 10, 100, 100, true);
  m.host(0, 10, 50, 100, true); // replaces: the interval from 10 is a violation
  m.host(0, 20, 100, 100, true);
  m.host(0, 30, 0, 0, false);
  m.host(0, 40, 80, 80, true); // last entry: opens nothing
  m.vm(0, 10, 90, 100, true);
  m.vm(0, 20, 100, 100, false);
  m.vm(0, 30, 100, 200, false);
  const r = m.finish();
  assert.equal(r.slatah, 10 / 20);
  assert.equal(r.activeHostSeconds, 20);
  assert.equal(r.hostShutdowns, 1);
  assert.equal(r.meanTimeBeforeHostShutdown, 30);
  assert.equal(r.pdm, (10 * 10) / (100 * 10 + 100 * 10)); // only the migrating interval counts
  assert.equal(r.overallSlaViolation, (2000 - 1900) / 2000);
  assert.equal(r.averageSlaViolation, 0.1);
  assert.equal(r.meanMigrationTime, 10);
});

test('a host idle at its first entry counts as one shutdown; one never idle counts none', () => {
  const m = new MetricsRecorder(2, 0);
  m.host(0, 300.1, 0, 0, false);
  m.host(0, 600.1, 0, 0, false);
  m.host(1, 300.1, 10, 10, true);
  m.host(1, 600.1, 10, 10, true);
  const r = m.finish();
  assert.equal(r.hostShutdowns, 1);
  assert.equal(r.meanTimeBeforeHostShutdown, 300.1);
});
