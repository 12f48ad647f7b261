import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../core/index.ts';
import {
  AnomalyDetectorBank,
  AnomalyLikelihood,
  createSeriesDetector,
  evaluateDetector,
  loadNabCorpus,
  NAB_SHIPPED_THRESHOLDS,
  prepareCorpus,
  probationaryLength,
  readNabSeries,
  scoreSeries,
  SortedWindow,
  StreamingAnomalyDetector,
} from './index.ts';

const NAB = join(loadConfig().dataDir, 'nab');
const haveNab = existsSync(join(NAB, 'labels', 'combined_windows.json'));
const skipNab = haveNab ? false : `NAB data not found under ${NAB} (set NOVACRON_DATA)`;

// Deterministic noise (LCG + Box–Muller) so tests never depend on Math.random.
function noise(seed: number): () => number {
  let s = seed;
  const u = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s + 1) / 2147483649;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function series(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

test('SortedWindow ranks like a brute-force sort of the last `capacity` values', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: -6, max: 6 }), (xs, cap, probe) => {
      const w = new SortedWindow(cap);
      for (const x of xs) w.push(x);
      const last = xs.slice(-cap);
      assert.equal(w.size, last.length);
      assert.equal(w.countBelow(probe), last.filter((v) => v < probe).length);
      assert.equal(w.countAtOrBelow(probe), last.filter((v) => v <= probe).length);
    }),
  );
});

test('the likelihood stays at 0 for a steady raw score and rises for an unusual run', () => {
  const l = new AnomalyLikelihood({ learningSamples: 50, estimationStart: 100, averagingWindow: 10, historicWindow: 1000, reestimationPeriod: 100 });
  const rnd = noise(3);
  let last = 0;
  for (let i = 0; i < 400; i++) last = l.update(0.2 + 0.02 * rnd());
  assert.ok(last < 0.2, `steady score gave ${last}`);
  for (let i = 0; i < 10; i++) last = l.update(1);
  assert.ok(last > 0.9, `a run of 1s gave ${last}`);
});

test('scoreSeries equals feeding the detector one sample at a time, in any chunking', () => {
  const rnd = noise(7);
  const values = series(1500, (i) => 10 + Math.sin(i / 20) + 0.3 * rnd() + (i > 1200 && i < 1230 ? 6 : 0));
  const timestamps = values.map((_, i) => 1_700_000_000_000 + i * 300_000);
  const options = { probationSamples: 225, threshold: 0.49 };
  const bulk = scoreSeries(values, options, timestamps);
  const one = new StreamingAnomalyDetector(options);
  assert.deepEqual(
    values.map((v, i) => one.update(timestamps[i]!, v)),
    bulk,
  );
  // Interleaving other series through a bank changes nothing for this one.
  const bank = new AnomalyDetectorBank(options);
  const viaBank = values.map((v, i) => {
    bank.update('other', timestamps[i]!, v * 2 + 1);
    const { event: _event, ...out } = bank.update('vm-1/cpu', timestamps[i]!, v);
    return out;
  });
  assert.deepEqual(viaBank, bulk);
  assert.equal(bank.size, 2);
  assert.ok(bulk.some((o) => o.alarm), 'the injected level shift should alarm');
});

test('same result streamed or in bulk on a real NAB file', { skip: skipNab }, () => {
  const s = readNabSeries(join(NAB, 'realAWSCloudwatch', 'rds_cpu_utilization_cc0c53.csv'));
  const options = { probationSamples: probationaryLength(s.values.length) };
  const bulk = scoreSeries(s.values, options, s.timestamps);
  const d = new StreamingAnomalyDetector(options);
  for (let i = 0; i < s.values.length; i++) assert.deepEqual(d.update(s.timestamps[i]!, s.values[i]!), bulk[i], `sample ${i}`);
});

test('no alarm and score 0 during probation; scores stay in [0, 1]', () => {
  const rnd = noise(11);
  // Wild data from the first sample: nothing may fire before the probation ends.
  const values = series(800, (i) => (i % 97 === 0 ? 1000 : rnd() * (1 + i)));
  const out = scoreSeries(values, { probationSamples: 300 });
  for (let i = 0; i < 300; i++) {
    assert.equal(out[i]!.score, 0);
    assert.equal(out[i]!.alarm, false);
  }
  for (const o of out) assert.ok(o.score >= 0 && o.score <= 1, `score ${o.score}`);
});

test('a flat line raises no alarm, a noisy daily cycle hardly any', () => {
  assert.equal(scoreSeries(series(3000, () => 42), { probationSamples: 450 }).filter((o) => o.alarm).length, 0);
  // Over 6 noise draws × 3428 scored samples at most one alarm each (the likelihood's tail is
  // 1e-5 per sample only if its normal fit were exact; it is not, so the odd alarm happens).
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const rnd = noise(seed);
    const daily = series(4032, (i) => 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + 0.5 * rnd());
    assert.ok(scoreSeries(daily, { probationSamples: 604 }).filter((o) => o.alarm).length <= 1, `seed ${seed}`);
  }
});

test('a jump to a new level alarms once, at the jump, and explains it', () => {
  const rnd = noise(9);
  const values = series(3000, (i) => (i < 2000 ? 20 : 60) + rnd());
  const out = scoreSeries(values, { probationSamples: 450 });
  const alarms = out.flatMap((o, i) => (o.alarm ? [i] : []));
  assert.ok(alarms.includes(2000), `alarms at ${alarms.join(',')}`);
  const e = out[2000]!.explanation;
  assert.equal(e.reason, 'new-extreme');
  assert.ok(e.deviation > 30 && e.expected < 25 && e.value > 55);
  // One incident, one alarm: nothing else within the refractory period (45 samples).
  assert.deepEqual(alarms.filter((i) => i > 2000 && i <= 2045), []);
  const bank = new AnomalyDetectorBank({ probationSamples: 450 });
  const events = values.flatMap((v, i) => bank.update('host-3/cpu', i * 60_000, v).event ?? []);
  assert.ok(events.some((ev) => ev.series === 'host-3/cpu' && ev.ts === 2000 * 60_000 && /vs expected/.test(ev.message) && /outside everything seen/.test(ev.message)));
});

test('bad input fails with stable codes', () => {
  const d = new StreamingAnomalyDetector({ probationSamples: 10 });
  d.update(1000, 1);
  assert.throws(() => d.update(2000, Number.NaN), { code: 'ANOMALY_BAD_SAMPLE' });
  assert.throws(() => d.update(500, 1), { code: 'ANOMALY_OUT_OF_ORDER' });
  assert.throws(() => new StreamingAnomalyDetector({ threshold: 0 }), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => new StreamingAnomalyDetector({ probationSamples: -1 }), { code: 'MODELS_INVALID_ARGUMENT' });
  assert.throws(() => scoreSeries([1, 2], {}, [1]), { code: 'MODELS_INVALID_ARGUMENT' });
});

test('on the AWS subset the shipped detector scores as the bench reports (standard ≥ 75)', { skip: skipNab }, () => {
  const prepared = prepareCorpus(loadNabCorpus(NAB, join(NAB, 'labels', 'combined_windows.json')));
  const r = evaluateDetector(prepared, NAB_SHIPPED_THRESHOLDS);
  assert.ok(r.standard.normalized >= 75, `standard ${r.standard.normalized}`);
  assert.ok(r.reward_low_FP_rate.normalized >= 65, `low FP ${r.reward_low_FP_rate.normalized}`);
  assert.ok(r.reward_low_FN_rate.normalized >= 76, `low FN ${r.reward_low_FN_rate.normalized}`);
});

test('createSeriesDetector answers the streams port: score, expected value and a text explanation', () => {
  const rnd = noise(13);
  const values = series(1200, (i) => (i < 1000 ? 0.3 : 0.9) + 0.01 * rnd());
  const port = createSeriesDetector({ probationSamples: 200 });
  const bulk = scoreSeries(values, { probationSamples: 200 });
  values.forEach((v, i) => {
    const verdict = port.update(i * 60_000, v);
    assert.equal(verdict.score, bulk[i]!.score);
    assert.equal(verdict.alarm, bulk[i]!.alarm);
    assert.equal(verdict.expected, i === 0 ? v : values[i - 1]);
    assert.equal(typeof verdict.explanation, 'string');
  });
  assert.match(createSeriesDetector({ probationSamples: 0 }).update(0, 1).explanation, /^1 vs expected 1/);
});

test('minChange: jitter on a flat series never alarms, a material jump still does', () => {
  let x = 7;
  const rand = () => ((x = (x * 16807) % 2147483647) / 2147483647);
  const values = Array.from({ length: 1000 }, (_, i) => (i === 800 ? 0.97 : 0.5 + 0.002 * (rand() - 0.5)));
  const loose = scoreSeries(values, { probationSamples: 288 });
  const gated = scoreSeries(values, { probationSamples: 288, minChange: 0.05 });
  assert.ok(loose.some((o, i) => o.alarm && i < 800), 'without the gate the jitter alarms (scale-free detector)');
  assert.deepEqual(gated.flatMap((o, i) => (o.alarm ? [i] : [])), [800]);
});
