import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../core/index.ts';
import {
  bestThreshold,
  loadNabCorpus,
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  normalizeScore,
  prepareCorpus,
  probationaryLength,
  readNabResults,
  rowWeights,
  scaledSigmoid,
  scoreCorpus,
  scoreFile,
  scorePrepared,
  selectThreshold,
  sweepThresholds,
  windowRowRanges,
  type NabProfileName,
} from './index.ts';

const close = (actual: number, expected: number, eps: number, what = '') => assert.ok(Math.abs(actual - expected) <= eps, `${what} ${actual} is not ${expected} ± ${eps}`);

const NAB = join(loadConfig().dataDir, 'nab');
const haveNab = existsSync(join(NAB, 'reference', 'published_per_file_scores_realAWSCloudwatch.csv'));
const skipNab = haveNab ? false : `NAB reference data not found under ${NAB} (set NOVACRON_DATA)`;

test('scaledSigmoid matches the values NAB documents', () => {
  close(scaledSigmoid(-1), 0.98661, 1e-5);
  close(scaledSigmoid(-0.5), 0.84828, 1e-5);
  close(scaledSigmoid(0), 0, 1e-15);
  close(scaledSigmoid(1), -0.98661, 1e-5);
  assert.equal(scaledSigmoid(3), -1);
  assert.equal(scaledSigmoid(7), -1);
});

test('probation is 15 % of the file, capped at 750 rows', () => {
  assert.equal(probationaryLength(4032), 604);
  assert.equal(probationaryLength(4730), 709);
  assert.equal(probationaryLength(1243), 186);
  assert.equal(probationaryLength(5000), 750);
  assert.equal(probationaryLength(15902), 750);
});

// A 100-row file (probation 15 rows) with one window on rows 40..59 (width 20).
const ts = Array.from({ length: 100 }, (_, i) => i * 300_000);
const ranges = windowRowRanges(ts, [[ts[40]!, ts[59]!]]);
const standard = NAB_PROFILES.standard;

test('a detection on the first row of a window earns tpWeight; a miss costs fnWeight', () => {
  const w = rowWeights(100, ranges, standard);
  const scores = new Float64Array(100);
  assert.equal(scoreFile(scores, w, standard, 0.5).score, -1);
  scores[40] = 1;
  close(scoreFile(scores, w, standard, 0.5).score, 1, 1e-12);
  // Only the earliest detection in a window counts; later ones add nothing.
  scores[50] = 1;
  const r = scoreFile(scores, w, standard, 0.5);
  close(r.score, 1, 1e-12);
  assert.deepEqual([r.tp, r.fp, r.detectedWindows], [2, 0, 1]);
  // A detection on the window's last row: y = −1/20.
  const late = new Float64Array(100);
  late[59] = 1;
  close(scoreFile(late, w, standard, 0.5).score, scaledSigmoid(-1 / 20) / scaledSigmoid(-1), 1e-12);
});

test('false positives cost fpWeight before the first window and a sigmoid of the distance after it', () => {
  const w = rowWeights(100, ranges, standard);
  const before = new Float64Array(100);
  before[20] = 1;
  close(scoreFile(before, w, standard, 0.5).score, -1 - 0.11, 1e-12);
  // Probation rows are never scored.
  const inProbation = new Float64Array(100);
  inProbation[14] = 1;
  assert.equal(scoreFile(inProbation, w, standard, 0.5).score, -1);
  // Right after the window the penalty is small and grows with the distance (w − 1 = 19 rows per unit).
  const after = new Float64Array(100);
  after[61] = 1;
  close(scoreFile(after, w, standard, 0.5).score, -1 + 0.11 * scaledSigmoid(2 / 19), 1e-12);
  const far = new Float64Array(100);
  far[99] = 1;
  close(scoreFile(far, w, standard, 0.5).score, -1 + 0.11 * scaledSigmoid(40 / 19), 1e-12);
});

test('a window limit that names no row is an error', () => {
  assert.throws(() => windowRowRanges(ts, [[ts[40]! + 1, ts[59]!]], 'x.csv'), { code: 'NAB_BAD_WINDOW' });
  assert.throws(() => windowRowRanges(ts, [[ts[40]!, ts[59]!], [ts[50]!, ts[70]!]], 'x.csv'), { code: 'NAB_BAD_WINDOW' });
});

test('the threshold sweep agrees with scoring at each candidate threshold', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 100, maxLength: 100 }), fc.constantFrom(...NAB_PROFILE_NAMES), (ints, profile) => {
      const cost = NAB_PROFILES[profile];
      const scores = Float64Array.from(ints, (v) => v / 20);
      const w = rowWeights(100, ranges, cost);
      const sweep = sweepThresholds([{ scores, weights: w }], cost);
      assert.equal(sweep[0]!.threshold, 1.1);
      for (const s of sweep) close(s.score, scoreFile(scores, w, cost, s.threshold).score, 1e-9, `θ=${s.threshold}`);
      const best = bestThreshold(sweep);
      for (const s of sweep) assert.ok(s.score <= best.score);
    }),
    { numRuns: 50 },
  );
});

test('normalisation maps the null detector to 0 and the perfect one to 100', () => {
  assert.equal(normalizeScore(-30, -30, 30), 0);
  assert.equal(normalizeScore(30, -30, 30), 100);
  assert.throws(() => normalizeScore(0, 0, 0), { code: 'NAB_NO_WINDOWS' });
});

test('selectThreshold ships the median of the near-best plateau, not the cliff edge', () => {
  const curve = [0.4, 0.45, 0.5, 0.55, 0.6].map((threshold, i) => ({ threshold, normalized: [70, 77.5, 78, 78.2, 60][i]! }));
  assert.deepEqual(selectThreshold(curve), { threshold: 0.5, best: 78.2, plateau: [0.45, 0.55] });
});

test('the built-in profiles are NAB config/profiles.json', { skip: skipNab }, () => {
  const raw = JSON.parse(readFileSync(join(NAB, 'reference', 'profiles.json'), 'utf8')) as Record<string, { CostMatrix: Record<string, number> }>;
  for (const p of NAB_PROFILE_NAMES) {
    const m = raw[p]!.CostMatrix;
    assert.deepEqual({ ...NAB_PROFILES[p] }, { tpWeight: m.tpWeight, fpWeight: m.fpWeight, fnWeight: m.fnWeight });
  }
});

test('reproduces every published per-file score of the numenta detector on realAWSCloudwatch', { skip: skipNab }, () => {
  const corpus = loadNabCorpus(NAB, join(NAB, 'labels', 'combined_windows.json'));
  const prepared = prepareCorpus(corpus);
  const thresholds = JSON.parse(readFileSync(join(NAB, 'reference', 'thresholds.json'), 'utf8')) as Record<string, Record<NabProfileName, { threshold: number }>>;
  const published = readFileSync(join(NAB, 'reference', 'published_per_file_scores_realAWSCloudwatch.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .filter((c) => c[0] === 'numenta');
  assert.equal(published.length, 17 * 3);
  const scores = corpus.files.map((f) => {
    const r = readNabResults(join(NAB, 'reference', 'numenta_results_realAWSCloudwatch', `numenta_${f.key.split('/')[1]}`));
    assert.deepEqual(r.timestamps, f.timestamps, `${f.key}: results rows differ from data rows`);
    return Float64Array.from(r.scores);
  });
  const derived = JSON.parse(readFileSync(join(NAB, 'reference', 'derived_scores_realAWSCloudwatch_subset.json'), 'utf8')) as Record<string, Record<NabProfileName, { aws_raw_sum: number; aws_subset_normalized: number }>>;
  for (const p of NAB_PROFILE_NAMES) {
    const result = scorePrepared(prepared, scores, p, thresholds.numenta![p].threshold);
    for (const f of result.files) {
      const row = published.find((c) => c[1] === p && c[2] === f.key);
      assert.ok(row, `no published row for ${p} ${f.key}`);
      // To 3 decimals (in fact to ~1e-11), and the same TP/TN/FP/FN row counts.
      close(f.score, Number(row[4]), 5e-4, `${p} ${f.key}`);
      assert.deepEqual([f.tp, f.tn, f.fp, f.fn], row.slice(5, 9).map(Number), `${p} ${f.key} counts`);
    }
    // Subset totals: raw sum and normalisation against the null (−30·fnWeight) and perfect (30) detectors.
    close(result.raw, derived.numenta![p].aws_raw_sum, 5e-5, `${p} raw total`);
    close(result.normalized, derived.numenta![p].aws_subset_normalized, 5e-3, `${p} normalised`);
    assert.equal(result.nullScore, -30 * NAB_PROFILES[p].fnWeight);
    assert.equal(result.perfectScore, 30);
  }
});

test('the null detector (constant 0.5) at its published threshold scores exactly the null baseline', { skip: skipNab }, () => {
  const corpus = loadNabCorpus(NAB, join(NAB, 'labels', 'combined_windows.json'));
  const prepared = prepareCorpus(corpus);
  const thresholds = JSON.parse(readFileSync(join(NAB, 'reference', 'thresholds.json'), 'utf8')) as Record<string, Record<NabProfileName, { threshold: number }>>;
  for (const p of NAB_PROFILE_NAMES) {
    const r = scoreCorpus(
      corpus.files.map((f, i) => ({ key: f.key, scores: new Float64Array(f.values.length).fill(0.5), weights: prepared.weights[i]![p] })),
      p,
      thresholds.null![p].threshold,
    );
    assert.equal(r.raw, r.nullScore);
    assert.equal(r.normalized, 0);
  }
});
