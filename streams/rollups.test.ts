import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../core/index.ts';
import { hasP95, ROLLUP_METRICS, rollupView, rollupViews } from './rollups.ts';

const config = loadConfig({}, { NOVACRON_TABLE_PREFIX: 'x_' });

test('four views under the table prefix: per VM and per host, by minute and by hour, each over the raw table', () => {
  const views = rollupViews(config);
  assert.deepEqual(views.map((v) => [v.name, v.base]), [
    ['x_vm_samples_1m', 'x_vm_samples'], ['x_vm_samples_1h', 'x_vm_samples'],
    ['x_host_samples_1m', 'x_host_samples'], ['x_host_samples_1h', 'x_host_samples'],
  ]);
  assert.equal(rollupView(config, 'vm', '1h'), 'x_vm_samples_1h');
  assert.deepEqual([hasP95('vm', '1m'), hasP95('vm', '1h'), hasP95('host', '1m'), hasP95('host', '1h')], [false, false, false, true]);
  for (const v of views) {
    // On a timer, not after every commit of the base table (each commit re-aggregated the current hour of every VM).
    const every = v.name.endsWith('_1m') ? 1 : 10;
    assert.equal(v.refreshMinutes, every);
    assert.match(v.ddl, new RegExp(`^CREATE MATERIALIZED VIEW IF NOT EXISTS ${v.name} REFRESH EVERY ${every}m AS \\(SELECT ts, `));
    assert.match(v.ddl, new RegExp(`FROM ${v.base} SAMPLE BY ${v.name.endsWith('_1m') ? '1m' : '1h'}\\)`));
    assert.match(v.ddl, v.name.includes('_vm_') ? /SELECT ts, vm_id, / : /SELECT ts, host_id, /);
    for (const m of ROLLUP_METRICS) {
      assert.ok(v.ddl.includes(`avg(${m}) ${m}_avg`) && v.ddl.includes(`max(${m}) ${m}_max`), `${v.name} ${m}`);
      // A p95 per host and hour only, with 2 digits: per minute it held a heap histogram per VM-minute (QuestDB ran out of heap).
      assert.equal(v.ddl.includes(`approx_percentile(${m}, 0.95, 2) ${m}_p95`), v.name === 'x_host_samples_1h', `${v.name} ${m} p95`);
      assert.ok(!v.ddl.includes(', 0.95, 3)'), v.name);
    }
  }
});
