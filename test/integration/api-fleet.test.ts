import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { proposeExecution } from '../../actuators/index.ts';
import { buildApi, createApiKey } from '../../api/index.ts';
import { apiDeps } from '../../cli/api-deps.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { migrate, questdbTable } from '../../core/index.ts';
import { forecast as models } from '../../models/index.ts';
import { FORECAST_MODEL_NAME } from '../../cli/planning-cycle.ts';
import { savePlan, type ActionPlan } from '../../scheduler/index.ts';
import { ANOMALY_TABLE, dropSampleTables, ensureSampleTables, SAMPLE_TABLES } from '../../streams/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { busFor, isolatedConfig, questdbFor, testLogger } from './harness.ts';

const HOUR = 3_600_000;

// The fleet read routes (/v1/vms, /v1/anomalies, /v1/savings) against real QuestDB and PostgreSQL.
describe('fleet read routes: VMs, anomalies, savings over time (real QuestDB and PostgreSQL)', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  const now = Date.now();
  let db: TempDatabase;
  let api: Awaited<ReturnType<typeof buildApi>>;
  let key: string;
  const get = (url: string) => api.inject({ url, headers: { authorization: `Bearer ${key}` } });
  const us = (ms: number) => `cast(${ms * 1000} as timestamp)`;
  const planIds: number[] = [];

  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
    await ensureSampleTables(config, questdb);
    const vm = questdbTable(config, SAMPLE_TABLES.vm);
    const anomalies = questdbTable(config, ANOMALY_TABLE);
    // Five VMs on two hosts, two samples each (the later one wins); vm-old was last seen 3 days ago.
    const values: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const host = i <= 3 ? 'h-a' : 'h-b';
      values.push(`(${us(now - 2 * HOUR)}, '${host}', 'vm-${i}', 0.1, 2, 100, 4096)`, `(${us(now - HOUR)}, '${host}', 'vm-${i}', ${i / 10}, ${i}, ${i * 1000}, 8192)`);
    }
    values.push(`(${us(now - 72 * HOUR)}, 'h-a', 'vm-old', 1, 1, 1, 1)`);
    await questdb.query(`insert into ${vm} (ts, host_id, vm_id, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes) values ${values.join(', ')}`);
    const events = [
      [now - 10 * 60_000, 'h-a', 'vm-1', 'cpu', 3.5, 1, 9.1, 'cpu 3.5 cores vs 1 expected'],
      [now - 20 * 60_000, 'h-a', 'vm-2', 'mem', 7, 2, 5.0, 'memory jump'],
      [now - 30 * 60_000, 'h-b', 'vm-4', 'cpu', 2, 1, 4.2, 'cpu'],
      [now - 5 * HOUR, 'h-a', 'vm-1', 'mem', 5, 1, 6.0, 'memory'],
      [now - 48 * HOUR, 'h-a', 'vm-1', 'cpu', 9, 1, 8.0, 'two days ago'],
    ] as const;
    await questdb.query(`insert into ${anomalies} (ts, host_id, vm_id, metric, value, expected, score, explanation) values ${events.map((e) => `(${us(e[0])}, '${e[1]}', '${e[2]}', '${e[3]}', ${e[4]}, ${e[5]}, ${e[6]}, '${e[7]}')`).join(', ')}`);
    await questdb.waitForWalApplied(vm, 60_000);
    await questdb.waitForWalApplied(anomalies, 60_000);

    // Three plans with expected savings; the first two proposed (the second supersedes the first), the third stored only.
    for (let i = 1; i <= 3; i++) {
      const plan: ActionPlan = {
        createdAt: now - (4 - i) * HOUR, policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, hostsBefore: 3, hostsAfter: 3 - i, hostsSaved: i, loadAfter: [], unplaced: [], waves: [[0]],
        actions: [{ kind: 'power-off', hostId: `h-${i}`, reason: 'empty', savedWatts: 100 * i }],
        expectedSavings: { hosts: i, watts: 100 * i, horizonHours: 24, kWh: 2.4 * i, migrationCostWh: 10, netKWh: 2.4 * i - 0.01 },
      };
      const id = await savePlan(db.pool, plan);
      if (i < 3) await proposeExecution(db.pool, id, plan.actions, [false], 'planner');
      planIds.push(id);
    }
    api = await buildApi(apiDeps(db.pool, questdb, busFor(config), testLogger(), undefined, { tablePrefix: config.questdb.tablePrefix }));
    key = (await createApiKey(db.pool, 'fleet-viewer', 'viewer')).token;
  });

  after(async () => {
    for (const step of [() => api?.close(), () => dropSampleTables(config, questdb), () => questdb.close(), () => db?.drop()]) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('needs a viewer key', async () => {
    for (const url of ['/v1/vms', '/v1/anomalies', '/v1/savings']) assert.equal((await api.inject({ url })).statusCode, 401, url);
  });

  it('GET /v1/vms lists each recently seen VM by its latest sample, in pages, filtered by host', async () => {
    const all = await get('/v1/vms');
    assert.equal(all.statusCode, 200, all.body);
    assert.deepEqual(all.json().vms.map((v: { vmId: string }) => v.vmId), ['vm-1', 'vm-2', 'vm-3', 'vm-4', 'vm-5'], 'vm-old (3 days) is not recent');
    assert.deepEqual(all.json().vms[2], { vmId: 'vm-3', hostId: 'h-a', lastSeen: new Date(now - HOUR).toISOString(), cpuUsedCores: 0.3, vcpus: 3, memUsedBytes: 3000, memTotalBytes: 8192 });
    assert.equal(all.json().nextOffset, null);
    const p1 = (await get('/v1/vms?limit=2')).json();
    assert.deepEqual([p1.vms.map((v: { vmId: string }) => v.vmId), p1.nextOffset], [['vm-1', 'vm-2'], 2]);
    const p3 = (await get('/v1/vms?limit=2&offset=4')).json();
    assert.deepEqual([p3.vms.map((v: { vmId: string }) => v.vmId), p3.nextOffset], [['vm-5'], null]);
    const onB = (await get('/v1/vms?hostId=h-b')).json();
    assert.deepEqual(onB.vms.map((v: { vmId: string }) => v.vmId), ['vm-4', 'vm-5']);
    const week = (await get('/v1/vms?seenWithinHours=168&hostId=h-a')).json();
    assert.deepEqual(week.vms.map((v: { vmId: string }) => v.vmId), ['vm-1', 'vm-2', 'vm-3', 'vm-old']);
    assert.equal((await get("/v1/vms?hostId=h-a'%20or%201=1")).json().field, 'hostId', 'ids are validated');
  });

  it('GET /v1/anomalies lists events newest first in a bounded time window, by VM or host, in pages', async () => {
    const day = (await get('/v1/anomalies')).json();
    assert.deepEqual(day.anomalies.map((a: { vmId: string; metric: string }) => `${a.vmId}/${a.metric}`), ['vm-1/cpu', 'vm-2/mem', 'vm-4/cpu', 'vm-1/mem'], 'the last 24 hours by default');
    assert.deepEqual(day.anomalies[0], { at: new Date(now - 10 * 60_000).toISOString(), hostId: 'h-a', vmId: 'vm-1', metric: 'cpu', value: 3.5, expected: 1, score: 9.1, explanation: 'cpu 3.5 cores vs 1 expected' });
    const vm1 = (await get(`/v1/anomalies?vmId=vm-1&from=${new Date(now - 72 * HOUR).toISOString()}`)).json();
    assert.deepEqual(vm1.anomalies.map((a: { explanation: string }) => a.explanation), ['cpu 3.5 cores vs 1 expected', 'memory', 'two days ago']);
    const hostB = (await get('/v1/anomalies?hostId=h-b')).json();
    assert.deepEqual(hostB.anomalies.map((a: { vmId: string }) => a.vmId), ['vm-4']);
    const p1 = (await get('/v1/anomalies?limit=3')).json();
    assert.equal(p1.anomalies.length, 3);
    assert.equal(p1.nextOffset, 3);
    const p2 = (await get('/v1/anomalies?limit=3&offset=3')).json();
    assert.deepEqual([p2.anomalies.map((a: { metric: string }) => a.metric), p2.nextOffset], [['mem'], null]);

    const tooLong = await get(`/v1/anomalies?from=${new Date(now - 40 * 24 * HOUR).toISOString()}`);
    assert.equal(tooLong.statusCode, 400);
    assert.equal(tooLong.json().field, 'from');
    const backwards = await get(`/v1/anomalies?from=${new Date(now).toISOString()}&to=${new Date(now - HOUR).toISOString()}`);
    assert.deepEqual([backwards.statusCode, backwards.json().field], [400, 'from']);
    assert.equal((await get('/v1/anomalies?to=yesterday')).json().field, 'to');
  });

  it('GET /v1/vms/{vmId}/forecast serves the p50/p90/p99 band of the promoted model on the VM\'s last two days', async () => {
    const noModel = await get('/v1/vms/vm-f/forecast');
    assert.equal(noModel.statusCode, 404, noModel.body);
    assert.equal(noModel.json().code, 'FORECAST_MODEL_NOT_FOUND');
    assert.match(noModel.json().message, /\.\/novacron train/);

    // An untrained network is enough to check the wiring: same history in, same quantiles out.
    const spec = { ...models.DEFAULT_SPEC, hidden: [8] };
    const model = { spec, weights: models.initMlp(models.featureCount(spec), [8], spec.horizons.length, spec.quantiles.length, spec.lags - 1, 7), shifts: {} };
    const version = await models.registerModelVersion(db.pool, { name: FORECAST_MODEL_NAME, model, status: 'promoted', reason: 'test', backend: 'cpu', inferenceEngine: 'js', dataSummary: {}, metrics: {} });

    // vm-f: two and a half days of five-minute samples with a daily cycle; only the last two days are read.
    const step = 300_000;
    const last = Math.floor(now / step) * step - step;
    const points = Array.from({ length: 720 }, (_, i) => {
      const ts = last - (719 - i) * step;
      return { ts, cpuCores: 2 + 1.5 * Math.sin((2 * Math.PI * ts) / 86_400_000), memBytes: 6e9 + 1e9 * Math.cos((2 * Math.PI * ts) / 86_400_000) };
    });
    const vm = questdbTable(config, SAMPLE_TABLES.vm);
    await questdb.query(`insert into ${vm} (ts, host_id, vm_id, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes) values ${points.map((p) => `(${us(p.ts)}, 'h-b', 'vm-f', ${p.cpuCores}, 4, ${Math.round(p.memBytes)}, 8000000000)`).join(', ')}`);
    await questdb.waitForWalApplied(vm, 60_000);

    const asked = Date.now();
    const res = await get('/v1/vms/vm-f/forecast');
    assert.equal(res.statusCode, 200, res.body);
    const band = res.json();
    assert.deepEqual([band.vmId, band.hostId, band.model], ['vm-f', 'h-b', { name: FORECAST_MODEL_NAME, version: version.version }]);
    assert.equal(band.origin, new Date(last).toISOString());
    assert.deepEqual(band.cpu.map((p: { horizonMinutes: number }) => p.horizonMinutes), [5, 30, 60, 180, 360]);
    assert.deepEqual(band.cpu.map((p: { at: string }) => p.at), [1, 6, 12, 36, 72].map((h) => new Date(last + h * step).toISOString()));

    // The same model on the same two days, straight from the models module.
    const recent = points.filter((p) => p.ts > asked - 2 * 86_400_000);
    const series = models.historiesToSeries([{ vmId: 'vm-f', hostId: 'h-b', vcpus: 4, memTotalBytes: 8e9, points: recent.map((p) => ({ ...p, memBytes: Math.round(p.memBytes) })) }]);
    const direct = (await models.forecastBatch(model, series, 'js')).forecasts;
    for (const [kind, cap] of [['cpu', 4], ['mem', 8e9]] as const) {
      const f = direct.find((x) => x.id === `fleet/vm-f/${kind}`)!;
      band[kind].forEach((p: Record<string, number>, j: number) => {
        for (const [k, name] of ['p50', 'p90', 'p99'].entries()) {
          const want = Math.min(Math.max(f.quantiles[j]![k]!, 0), cap);
          assert.ok(Math.abs(p[name]! - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${kind} h${j} ${name}: ${p[name]} vs ${want}`);
          assert.ok(p[name]! >= 0 && p[name]! <= cap, `${kind} ${name} within [0, ${cap}]`);
        }
      });
    }

    const short = await get('/v1/vms/vm-1/forecast');
    assert.deepEqual([short.statusCode, short.json().code], [422, 'FORECAST_HISTORY_TOO_SHORT'], short.body);
    const unknown = await get('/v1/vms/vm-nope/forecast');
    assert.deepEqual([unknown.statusCode, unknown.json().code], [404, 'VM_NOT_FOUND']);
    assert.equal((await get('/v1/vms/vm%2Fx/forecast')).json().field, 'vmId');
  });

  it('GET /v1/savings lists each plan\'s expected savings with its execution state, newest first, in pages', async () => {
    const all = (await get('/v1/savings')).json();
    assert.deepEqual(all.savings.map((s: { planId: number }) => s.planId), [...planIds].reverse());
    assert.deepEqual(all.savings[0], { planId: planIds[2], createdAt: new Date(now - HOUR).toISOString(), hostsSaved: 3, watts: 300, kWh: 2.4 * 3, netKWh: 2.4 * 3 - 0.01, horizonHours: 24, monthlySavings: null, currency: null, state: null });
    assert.deepEqual(all.savings.map((s: { state: string | null }) => s.state), [null, 'proposed', 'superseded']);
    const p1 = (await get('/v1/savings?limit=2')).json();
    assert.equal(p1.nextBefore, planIds[1]);
    const p2 = (await get(`/v1/savings?limit=2&before=${p1.nextBefore}`)).json();
    assert.deepEqual([p2.savings.map((s: { planId: number }) => s.planId), p2.nextBefore], [[planIds[0]], null]);
    const recent = (await get(`/v1/savings?from=${new Date(now - 2.5 * HOUR).toISOString()}`)).json();
    assert.deepEqual(recent.savings.map((s: { planId: number }) => s.planId), [planIds[2], planIds[1]]);
  });
});
