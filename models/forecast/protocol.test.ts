import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cell, MethodName } from './evaluate.ts';
import { ErrorSums } from './metrics.ts';
import { decidePromotion } from './promotion.ts';
import { DEFAULT_PROTOCOL, calibrationEntities, splitSeries, testStartOf } from './protocol.ts';
import { naiveReference, pool, summarise } from './report.ts';
import type { RegularSeries } from './series.ts';

test('test part: the last 20 % of a series, at least 12 h', () => {
  assert.equal(testStartOf(288, DEFAULT_PROTOCOL), 144); // a PlanetLab day: second half
  assert.equal(testStartOf(8004, DEFAULT_PROTOCOL), 8004 - 1601);
  assert.equal(testStartOf(1000, DEFAULT_PROTOCOL), 800);
});

test('calibration VMs: an exact share per trace kind, every metric of a VM on the same side, order-free', () => {
  const series: RegularSeries[] = [];
  for (let i = 0; i < 35; i++) {
    for (const metric of ['cpu', 'mem']) {
      series.push({ id: `bb/${i}/${metric}`, entity: `bb/${i}`, group: `bb/${metric}`, startSec: 0, absoluteTime: true, values: new Float64Array(300).fill(i) });
    }
  }
  for (let i = 0; i < 8; i++) series.push({ id: `pl/${i}`, entity: `pl/${i}`, group: 'pl/cpu', startSec: 0, absoluteTime: true, values: new Float64Array(300) });
  series.push({ id: 'pl/short', entity: 'pl/short', group: 'pl/cpu', startSec: 0, absoluteTime: true, values: new Float64Array(100) });
  const { splits, tooShort } = splitSeries(series, DEFAULT_PROTOCOL);
  assert.deepEqual(tooShort.map((s) => s.id), ['pl/short']);
  const held = new Set(splits.filter((s) => s.calibration).map((s) => s.idx.series.entity));
  assert.equal([...held].filter((e) => e.startsWith('bb/')).length, 9); // ⌈0.25 × 35⌉
  assert.equal([...held].filter((e) => e.startsWith('pl/')).length, 2); // ⌈0.25 × 8⌉
  for (const s of splits) assert.equal(s.calibration, held.has(s.idx.series.entity));
  assert.deepEqual(calibrationEntities([...series].reverse().filter((s) => s.values.length >= 288).map((s) => s.entity), DEFAULT_PROTOCOL), held);
  // A one-VM fleet keeps its VM for training.
  assert.equal(calibrationEntities(['solo/1'], DEFAULT_PROTOCOL).size, 0);
});

function cell(seriesId: string, group: string, method: MethodName, horizon: number, absError: number, scale: number, pinball = absError / 2): Cell {
  const sums = new ErrorSums(3);
  sums.n = 1;
  sums.absError = absError;
  sums.smape = 0;
  sums.pinball.fill(pinball);
  sums.covered.fill(1);
  return { seriesId, group, method, horizon, scale, sums };
}

test('naive reference: seasonal naive only where it covers every series of the group and is better', () => {
  const cells = [
    cell('a', 'g1', 'naive', 12, 2, 1), cell('b', 'g1', 'naive', 12, 2, 1),
    cell('a', 'g1', 'seasonal-naive', 12, 1, 1), cell('b', 'g1', 'seasonal-naive', 12, 1, 1),
    cell('a', 'g2', 'naive', 12, 2, 1), cell('b', 'g2', 'naive', 12, 2, 1),
    cell('a', 'g2', 'seasonal-naive', 12, 1, 1), // b had no season of history
    cell('a', 'g1', 'model', 12, 0.5, 1), cell('b', 'g1', 'model', 12, 1.5, 1),
    cell('a', 'g2', 'model', 12, 1, 1), cell('b', 'g2', 'model', 12, 1, 1),
    cell('flat', 'g2', 'naive', 12, 1, 0), cell('flat', 'g2', 'model', 12, 5, 0),
  ];
  const rows = summarise(cells);
  const ref = naiveReference(rows);
  assert.equal(ref.get('g1|12'), 'seasonal-naive');
  assert.equal(ref.get('g2|12'), 'naive');
  // g1: model (0.5 + 1.5) / seasonal (1 + 1) = 1; g2: model 2 / naive 4 (the flat series has no MASE).
  assert.equal(pool(cells, 'model', ref, new Set(['g1'])).maseRatio, 1);
  assert.equal(pool(cells, 'model', ref, new Set(['g2'])).maseRatio, 0.5);
  const both = pool(cells, 'model', ref, new Set(['g1', 'g2']));
  assert.equal(both.maseRatio, 4 / 6);
  assert.equal(both.cells, 4);
  assert.equal(both.points, 5); // coverage counts every point, flat series included
});

test('promotion: only a model better than every baseline on validation is promoted', () => {
  const series = ['a', 'b', 'c'];
  const make = (model: number, ewma: number) => [
    ...series.map((s) => cell(s, 'g', 'naive', 12, 3, 1)),
    ...series.map((s) => cell(s, 'g', 'ewma', 12, ewma, 1)),
    ...series.map((s) => cell(s, 'g', 'model', 12, model, 1)),
  ];
  assert.equal(decidePromotion(make(1, 2)).status, 'promoted');
  const worse = decidePromotion(make(2.5, 2));
  assert.equal(worse.status, 'rejected');
  assert.match(worse.reason, /ewma/);
  assert.equal(worse.bestBaseline?.baseline.method, 'ewma');
  // Better MASE but worse quantiles is still worse.
  const cells = make(1, 2).map((c) => (c.method === 'model' ? cell(c.seriesId, 'g', 'model', 12, 1, 1, 5) : c));
  assert.equal(decidePromotion(cells).status, 'rejected');
  assert.equal(decidePromotion([]).status, 'rejected');
});
