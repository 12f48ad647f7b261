import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate } from '../../core/index.ts';
import { createTempDatabase, type TempDatabase } from '../../test/support/temp-database.ts';
import type { Cell, MethodName } from './evaluate.ts';
import { ErrorSums } from './metrics.ts';
import { initMlp, mlpForward } from './mlp.ts';
import type { ForecastModel } from './model.ts';
import { decidePromotion } from './promotion.ts';
import { FORECAST_REGISTRY_MIGRATIONS, listModelVersions, registerModelVersion, servingModel } from './registry.ts';
import { DEFAULT_SPEC, featureCount } from './spec.ts';

// Runs against the real PostgreSQL server, in a database of its own.
let db: TempDatabase;
before(async () => {
  db = await createTempDatabase();
  await migrate(db.pool, FORECAST_REGISTRY_MIGRATIONS);
  await migrate(db.pool, FORECAST_REGISTRY_MIGRATIONS); // a second run applies nothing
});
after(async () => {
  await db?.drop();
});

function model(seed: number): ForecastModel {
  const shifts = { horizons: DEFAULT_SPEC.horizons, quantiles: DEFAULT_SPEC.quantiles, shift: DEFAULT_SPEC.horizons.map(() => [0, 1.5, 4]), count: DEFAULT_SPEC.horizons.map(() => 100) };
  return { spec: { ...DEFAULT_SPEC, hidden: [8] }, weights: initMlp(featureCount(DEFAULT_SPEC), [8], 5, 3, DEFAULT_SPEC.lags - 1, seed), shifts: { 'vm/cpu': shifts, '*': shifts } };
}

/** Validation cells where the model's error is `modelError` and the best baseline's is 2. */
function validation(modelError: number): Cell[] {
  const cells: Cell[] = [];
  for (const s of ['vm-1', 'vm-2']) {
    for (const [method, err] of [['naive', 3], ['ewma', 2], ['holt-winters', 2.5], ['model', modelError]] as Array<[MethodName, number]>) {
      const sums = new ErrorSums(3);
      sums.n = 10;
      sums.absError = 10 * err;
      sums.pinball.fill(5 * err);
      cells.push({ seriesId: s, group: 'vm/cpu', method, horizon: 12, scale: 1, sums });
    }
  }
  return cells;
}

async function registerCandidate(name: string, seed: number, modelError: number) {
  const decision = decidePromotion(validation(modelError));
  return registerModelVersion(db.pool, {
    name, model: model(seed), status: decision.status, reason: decision.reason, backend: 'wasm', inferenceEngine: 'tfjs',
    dataFrom: Date.UTC(2011, 2, 3), dataUntil: Date.UTC(2011, 2, 3, 12), dataSummary: { series: 2 }, metrics: { comparisons: decision.comparisons },
  });
}

test('a model worse than the best baseline is stored as rejected and the previous promoted version keeps serving', async () => {
  assert.equal(await servingModel(db.pool, 'vm-demand'), undefined);

  const v1 = await registerCandidate('vm-demand', 1, 1);
  assert.deepEqual([v1.version, v1.status], [1, 'promoted']);
  assert.ok(v1.promotedAt instanceof Date);
  assert.equal(v1.dataFrom?.getTime(), Date.UTC(2011, 2, 3));

  const v2 = await registerCandidate('vm-demand', 2, 2.5);
  assert.deepEqual([v2.version, v2.status, v2.promotedAt], [2, 'rejected', null]);
  assert.match(v2.reason, /not better than ewma/);

  const serving = await servingModel(db.pool, 'vm-demand');
  assert.equal(serving?.version, 1);
  // The weights come back bit for bit: the served model forecasts exactly like the trained one.
  const x = Float32Array.from({ length: 3 * featureCount(DEFAULT_SPEC) }, (_, i) => Math.sin(i));
  assert.deepEqual(mlpForward(serving!.model.weights, x, 3), mlpForward(model(1).weights, x, 3));
  assert.deepEqual(serving!.model.shifts, model(1).shifts);
  assert.deepEqual(serving!.model.spec, model(1).spec);

  const v3 = await registerCandidate('vm-demand', 3, 1.5);
  assert.deepEqual([v3.version, v3.status], [3, 'promoted']);
  assert.equal((await servingModel(db.pool, 'vm-demand'))?.version, 3);
  assert.deepEqual((await listModelVersions(db.pool, 'vm-demand')).map((v) => [v.version, v.status]), [[3, 'promoted'], [2, 'rejected'], [1, 'promoted']]);
});

test('versions count per model name, concurrently without collisions', async () => {
  const made = await Promise.all([1, 2, 3, 4].map((i) => registerCandidate('other', i, 3)));
  assert.deepEqual(made.map((v) => v.version).sort(), [1, 2, 3, 4]);
  assert.ok(made.every((v) => v.status === 'rejected'));
  assert.equal(await servingModel(db.pool, 'other'), undefined);
});

test('an unmigrated database gives a typed, non-retriable error', async () => {
  const other = await createTempDatabase();
  try {
    await assert.rejects(servingModel(other.pool, 'x'), { code: 'FORECAST_REGISTRY_FAILED', retriable: false });
  } finally {
    await other.drop();
  }
});
