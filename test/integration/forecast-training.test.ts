import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrate, questdbTable } from '../../core/index.ts';
import { SyntheticFleet } from '../../ingest/index.ts';
import { forecast, forecastFleet } from '../../models/index.ts';
import { dropSampleTables, ensureSampleTables, QuestDbSampleStore, SAMPLE_TABLES } from '../../streams/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { isolatedConfig, questdbFor } from './harness.ts';

const STEP = 300_000;
const DAYS = 3;

describe('forecaster trains on fleet history in QuestDB and registers the version in PostgreSQL', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  const last = Math.floor(Date.now() / STEP) * STEP;
  const first = last - (DAYS * 288 - 1) * STEP;
  let db: TempDatabase;

  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, forecast.FORECAST_REGISTRY_MIGRATIONS);
    await ensureSampleTables(config, questdb);
    const fleet = new SyntheticFleet({ hosts: 4, vmsPerHost: 5, seed: 9, stepMs: STEP });
    const store = new QuestDbSampleStore(config);
    for (let k = 0; k < DAYS * 288; k++) await store.write(fleet.tick(k, first + k * STEP).vms.map((sample) => ({ kind: 'vm' as const, sample })));
    await store.close();
    await questdb.waitForWalApplied(questdbTable(config, SAMPLE_TABLES.vm));
  });

  after(async () => {
    await dropSampleTables(config, questdb).catch(() => undefined);
    await questdb.close();
    await db?.drop();
  });

  it('stores weights, data range, metrics, status and backend; a promoted version is served', async () => {
    const { result, version } = await forecast.trainFromQuestDb(questdb, config, db.pool, {
      name: 'it-demand', lookbackMinutes: DAYS * 1440, until: last + STEP, train: { epochs: 2, batchSize: 512, learningRate: 3e-3, seed: 1 },
    });
    assert.equal(result.splits.length, 2 * 20, 'CPU and memory series of every VM');
    assert.ok(['promoted', 'rejected'].includes(version.status));
    assert.ok(version.reason.length > 10, 'the decision says why');
    assert.match(version.backend, /wasm|cpu|tensorflow/);
    // The range is that of the 5-minute grid the samples were binned on: within a step of them.
    assert.ok(Math.abs((version.dataFrom?.getTime() ?? 0) - first) <= STEP, 'data range starts at the first sample');
    // Training data ends where the held-out test part begins (the last max(20 %, 12 h) of history).
    const until = version.dataUntil?.getTime() ?? 0;
    const testPart = Math.max(0.2 * DAYS * 86_400_000, 12 * 3_600_000);
    assert.ok(until < last && until >= last - testPart - STEP, `training data ends before the test part (${version.dataUntil?.toISOString()})`);
    assert.ok(Object.keys(version.metrics).length > 0);

    const versions = await forecast.listModelVersions(db.pool, 'it-demand');
    assert.equal(versions.length, 1);
    const serving = await forecast.servingModel(db.pool, 'it-demand');
    if (version.status === 'promoted') {
      assert.equal(serving?.id, version.id);
      assert.ok(serving?.model, 'weights rebuild into a model');
    } else assert.equal(serving, undefined, 'a rejected version is never served');

    // Planning forecasts come from the model for every VM with a full lag window, bounded by capacity.
    const planned = await forecastFleet(questdb, config, { now: last + 1, model: result.model, quantile: 0.9 });
    assert.equal(planned.length, 20);
    assert.ok(planned.every((f) => f.method === 'quantile-mlp'), `methods: ${[...new Set(planned.map((f) => f.method))]}`);
    assert.ok(planned.every((f) => f.p95CpuCores >= 0 && f.p95CpuCores <= f.vcpus && f.p95MemBytes <= f.memTotalBytes));
    const p99 = await forecastFleet(questdb, config, { now: last + 1, model: result.model, quantile: 0.99 });
    assert.ok(p99.every((f, i) => f.p95CpuCores >= planned[i]!.p95CpuCores - 1e-9), 'the p99 plan never asks for less than the p90 plan');
  });
});
