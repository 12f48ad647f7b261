import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AlarmGate, AnomalyLikelihood, ContextNovelty, CONTEXT_NOVELTY_DEFAULTS, CALIBRATION_IN_MEMORY, createSeriesDetector, MAX_CALIBRATION_SAMPLES, RankSketch, RecurrenceFilter, SeasonalProfile, SEASONAL_PROFILE_DEFAULTS, StreamingAnomalyDetector } from './index.ts';
import { RankSketchShape } from './rank-sketch.ts';
import { addSizes, Slab } from './state-slab.ts';

// Deterministic uniform noise in [0, 1) (mulberry32).
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('parts carved from one slab behave exactly as standalone ones (no part writes over another)', () => {
  const shape = new RankSketchShape({ halfLife: 50 });
  const point = Object.freeze({ learningSamples: 20, estimationStart: 40, averagingWindow: 10, historicWindow: 300, reestimationPeriod: 30 });
  const sustained = Object.freeze({ ...point, averagingWindow: 7 });
  const recurrence = Object.freeze({ count: 2, horizon: 500, burstLevel: 0.2, factor: 0.5 });
  const seasonal = Object.freeze({ ...SEASONAL_PROFILE_DEFAULTS, periodMs: 1000 });
  const slab = new Slab(
    addSizes(shape.size, shape.size, AnomalyLikelihood.size(point), AnomalyLikelihood.size(sustained), ContextNovelty.size(CONTEXT_NOVELTY_DEFAULTS), SeasonalProfile.size(seasonal), RecurrenceFilter.size, RecurrenceFilter.size, AlarmGate.size),
  );
  const shared = {
    a: new RankSketch(shape, slab),
    b: new RankSketch(shape, slab),
    p: new AnomalyLikelihood(point, slab),
    s: new AnomalyLikelihood(sustained, slab),
    n: new ContextNovelty(CONTEXT_NOVELTY_DEFAULTS, 30, slab),
    season: new SeasonalProfile(seasonal, slab),
    r1: new RecurrenceFilter(recurrence, slab),
    r2: new RecurrenceFilter(recurrence, slab),
    gate: new AlarmGate(0.3, 5, { until: 60, margin: 0.1 }, slab),
  };
  assert.ok(slab.full, 'the parts take exactly the slots their sizes announce');
  const alone = {
    a: new RankSketch({ halfLife: 50 }),
    b: new RankSketch(shape),
    p: new AnomalyLikelihood(point),
    s: new AnomalyLikelihood(sustained),
    n: new ContextNovelty(CONTEXT_NOVELTY_DEFAULTS, 30),
    season: new SeasonalProfile(seasonal),
    r1: new RecurrenceFilter(recurrence),
    r2: new RecurrenceFilter(recurrence),
    gate: new AlarmGate(0.3, 5, { until: 60, margin: 0.1 }),
  };
  const rnd = uniform(42);
  const trace = (parts: typeof shared, i: number, x: number, y: number, m: number): number[] => {
    const out: number[] = [];
    // The sketches see magnitudes spread over all their octaves, so every tree node is written and read.
    out.push(parts.a.surprise(m), parts.b.surprise(1 / m), parts.a.countBelow(1 / m), parts.b.countBelow(m));
    for (const q of [0.01, 0.3, 0.5, 0.9, 0.999]) out.push(parts.a.quantile(q), parts.b.quantile(q));
    parts.a.push(m);
    parts.b.push(i % 50 === 0 ? 0 : 1 / m);
    out.push(parts.season.expected(i * 37));
    parts.season.update(i * 37, x);
    out.push(parts.n.update(x), parts.n.peek(y));
    out.push(parts.p.update(x), parts.p.peek(y), parts.p.average, parts.s.update(y), parts.s.peekAverage(x));
    const r1 = parts.r1.apply(i, parts.p.average, x, true);
    const r2 = parts.r2.apply(i, parts.s.average, y, i % 3 !== 0);
    out.push(r1.likelihood, r2.likelihood, Number(r1.recurring), Number(r2.recurring));
    const g = parts.gate.apply(i, x, i % 4 !== 0);
    out.push(g.score, Number(g.alarm));
    return out;
  };
  for (let i = 0; i < 3000; i++) {
    // Spiky, wandering inputs so every part leaves its initial state (bursts, rescaling, calibration).
    const x = rnd() < 0.05 ? 1 : rnd() * 0.4;
    const y = rnd() < 0.02 ? 0.9 : rnd() * 0.3 + (i > 2000 ? 0.2 : 0);
    const m = Math.pow(2, (rnd() - 0.5) * 44);
    const got = trace(shared, i, x, y, m);
    const want = trace(alone, i, x, y, m);
    for (let k = 0; k < want.length; k++) assert.ok(Object.is(got[k], want[k]), `sample ${i}, output ${k}: ${got[k]} in the slab, ${want[k]} alone`);
  }
  for (const key of Object.keys(alone) as Array<keyof typeof alone>) assert.equal(shared[key].stateBytes, alone[key].stateBytes, key);
});

test('a slab refuses a part that takes more than was sized for it', () => {
  const slab = new Slab({ f64: 2, f32: 3, u8: 4 });
  assert.equal(slab.byteLength, 2 * 8 + 3 * 4 + 4);
  slab.take64(2);
  assert.throws(() => slab.take64(1), { code: 'MODELS_INTERNAL' });
  assert.throws(() => slab.take32(4), { code: 'MODELS_INTERNAL' });
  assert.throws(() => slab.take8(5), { code: 'MODELS_INTERNAL' });
});

test('detectors built with the same options share nothing but the options', () => {
  const options = { probationSamples: 120, minChange: 0.05 };
  const n = 12;
  const make = (k: number) => {
    const rnd = uniform(100 + k);
    let level = 0.5;
    return Array.from({ length: 900 }, (_, i) => {
      level += (rnd() - 0.5) * 0.02;
      return { ts: i * 300_000 - (i % 97 === 5 ? 600_000 : 0), value: level + (rnd() < 0.01 ? 0.4 : 0) + 0.1 * Math.sin(i / (10 + k)) };
    });
  };
  const inputs = Array.from({ length: n }, (_, k) => make(k));
  const alone = inputs.map((samples) => {
    const d = new StreamingAnomalyDetector(options);
    return samples.map((s) => d.update(s.ts, s.value));
  });
  // Interleaved, created as new objects each time (as the streams worker does).
  const detectors = inputs.map(() => new StreamingAnomalyDetector({ ...options }));
  const interleaved: ReturnType<StreamingAnomalyDetector['update']>[][] = inputs.map(() => []);
  for (let i = 0; i < 900; i++) for (let k = 0; k < n; k++) interleaved[k]!.push(detectors[k]!.update(inputs[k]![i]!.ts, inputs[k]![i]!.value));
  assert.deepEqual(interleaved, alone);
  assert.ok(
    alone.some((run) => run.some((o) => o.alarm)),
    'some series should alarm, or the comparison proves little',
  );
});

test('options are resolved per distinct set of values, however the object is built', () => {
  const rnd = uniform(7);
  const values = Array.from({ length: 1500 }, (_, i) => Math.sin(i / 15) + 0.1 * rnd() + (i % 200 === 150 ? 3 : 0));
  const alarms = (options: object) => {
    const d = new StreamingAnomalyDetector(options);
    return values.map((v, i) => d.update(i * 60_000, v)).flatMap((o, i) => (o.alarm ? [i] : []));
  };
  const low = alarms({ probationSamples: 200, threshold: 0.3 });
  const high = alarms({ probationSamples: 200, threshold: 0.9 });
  assert.notDeepEqual(low, high, 'a higher threshold must alarm differently');
  assert.deepEqual(alarms({ threshold: 0.3, probationSamples: 200 }), low, 'key order does not matter');
  assert.deepEqual(alarms({ probationSamples: 200, threshold: 0.3, refractorySamples: undefined }), low, 'an undefined option is the default');
  assert.deepEqual(alarms({ probationSamples: 200, threshold: 0.9 }), high);
  const d = new StreamingAnomalyDetector({ probationSamples: 200, refractorySamples: 3, warmUpSamples: 7 });
  assert.equal(d.refractorySamples, 3);
  assert.deepEqual(d.warmUp, { until: 207, margin: 0.2 });
  assert.equal(new StreamingAnomalyDetector({ probationSamples: 200 }).refractorySamples, 20);
  assert.throws(() => new StreamingAnomalyDetector({ probationSamples: 200, threshold: 0 }), { code: 'MODELS_INVALID_ARGUMENT' });
});

test('calibration values sit in the empty context memory: a buffer of exactly the rest only past its 256, released at the end of the probation', () => {
  for (const probation of [20, 300, 2000]) {
    const d = new StreamingAnomalyDetector({ probationSamples: probation });
    const steady = d.stateBytes;
    const calibration = Math.min(probation, MAX_CALIBRATION_SAMPLES);
    for (let i = 0; i < calibration - 1; i++) {
      d.update(i * 1000, i % 13);
      const extra = (d.stateBytes - steady) / 4;
      const want = i + 1 <= CALIBRATION_IN_MEMORY ? 0 : calibration - CALIBRATION_IN_MEMORY;
      assert.equal(extra, want, `probation ${probation}: ${extra} Float32 of its own held for ${i + 1} values`);
    }
    d.update(calibration * 1000, 1);
    assert.equal(d.stateBytes, steady, `probation ${probation}: released once the range is fixed`);
  }
});

test('calibration values kept in the context memory fix the same range and replay the same contexts as values kept apart', () => {
  let x = 5;
  const rand = () => ((x = (x * 16807) % 2147483647) / 2147483647);
  const values = Array.from({ length: 1200 }, (_, i) => Math.sin(i / 17) * 10 + rand() * 3 + (i % 97 === 0 ? 40 : 0));
  const opts = { ...CONTEXT_NOVELTY_DEFAULTS };
  for (const calibration of [200, 256, 257, 750]) {
    const inMemory = new ContextNovelty(opts, calibration);
    // The reference keeps every value in a buffer of its own: its context memory starts one byte
    // off a 4-byte boundary, where no Float32 view can start.
    const slab = new Slab(addSizes(ContextNovelty.size(opts), { f64: 0, f32: 0, u8: 1 }));
    slab.take8(1);
    const apart = new ContextNovelty(opts, calibration, slab);
    apart.update(values[0]!);
    inMemory.update(values[0]!);
    assert.equal(apart.stateBytes - inMemory.stateBytes, calibration * 4, `calibration ${calibration}: the reference holds every value apart`);
    for (const v of values.slice(1)) assert.equal(inMemory.update(v), apart.update(v), `calibration ${calibration}`);
  }
});

test('remembering the calibration values at once leaves the memory that observing them one by one does', () => {
  let x = 11;
  const rand = () => ((x = (x * 16807) % 2147483647) / 2147483647);
  // Levels far outside the range too (clamped at ±1000 levels, negative ones masked in the hash).
  const values = Array.from({ length: 1500 }, (_, i) => Math.sin(i / 13) * 5 + rand() * 2 + (i % 89 === 0 ? 400 : 0) - (i % 97 === 0 ? 9000 : 0));
  for (const [opts, calibration] of [[CONTEXT_NOVELTY_DEFAULTS, 288], [{ levels: 5, contextLength: 1, grids: 2 }, 20], [{ levels: 16, contextLength: 8, grids: 8 }, 750], [CONTEXT_NOVELTY_DEFAULTS, 2]] as const) {
    const atOnce = new ContextNovelty(opts, calibration);
    const oneByOne = new ContextNovelty(opts, calibration);
    // The reference: the replay as observe() does it, sample by sample.
    const ref = oneByOne as unknown as { remember(values: Float32Array): void; observe(x: number, learn: boolean): number };
    ref.remember = (vs) => {
      for (const v of vs) ref.observe(v, true);
    };
    values.forEach((v, i) => assert.equal(atOnce.update(v), oneByOne.update(v), `${JSON.stringify(opts)} calibration ${calibration}, value ${i}`));
  }
});

test('stateBytes counts every byte of array-buffer memory a series detector holds', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const n = 20_000; // many: the odd buffer the runtime allocates meanwhile is spread thin
  const feed = () => {
    const d = createSeriesDetector({ probationSamples: 20 });
    for (let i = 0; i < 30; i++) d.update(i * 300_000, Math.sin(i));
    return d;
  };
  feed();
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const keep = Array.from({ length: n }, feed);
  gc();
  const perDetector = (process.memoryUsage().arrayBuffers - before) / n;
  // Exact but for the odd buffer the runtime allocates meanwhile.
  assert.ok(Math.abs(perDetector - keep[0]!.stateBytes) < 16, `array buffers ${perDetector} B per detector, stateBytes ${keep[0]!.stateBytes}`);
});
