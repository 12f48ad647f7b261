// NAB benchmark of NovaCron's streaming anomaly detector.
//
//   npm run bench:nab                                   # ../shared/data/nab (NOVACRON_DATA/nab)
//   npm run bench:nab -- --data DIR --labels FILE       # any NAB-format folder + windows file
//   npm run bench:nab -- --select-thresholds            # re-run the threshold selection (AWS subset)
//
// Scores exactly the files the windows file names (keys are paths relative to DIR) with the
// shipped thresholds, prints a per-file table and a summary beside the published detectors, and
// ends with `NAB standard=<x> reward_low_FP_rate=<y> reward_low_FN_rate=<z>`.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, loadConfig, NovaError } from '../core/index.ts';
import {
  evaluateDetector,
  loadNabCorpus,
  NAB_PROFILE_NAMES,
  NAB_SHIPPED_THRESHOLDS,
  prepareCorpus,
  selectThreshold,
  thresholdCurve,
  type CorpusScore,
  type NabProfileName,
} from '../models/index.ts';

const SHORT: Record<NabProfileName, string> = { standard: 'standard', reward_low_FP_rate: 'low FP', reward_low_FN_rate: 'low FN' };

function table(header: string[], rows: string[][], alignLeft = 1): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((v, c) => (c < alignLeft ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

interface Published {
  name: string;
  scores: Record<NabProfileName, number>;
}

// The derived per-detector scores on the AWS subset; absent (or unreadable) simply means no comparison.
function readPublished(path: string): Published[] {
  if (!existsSync(path)) return [];
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, { aws_subset_normalized?: number }>>;
  const out: Published[] = [];
  for (const [name, byProfile] of Object.entries(raw)) {
    if (name.startsWith('_')) continue;
    const scores = {} as Record<NabProfileName, number>;
    let ok = true;
    for (const p of NAB_PROFILE_NAMES) {
      const v = byProfile[p]?.aws_subset_normalized;
      if (typeof v !== 'number') ok = false;
      else scores[p] = v;
    }
    if (ok) out.push({ name, scores });
  }
  return out;
}

function main(): void {
  const { values: args } = parseArgs({
    options: { data: { type: 'string' }, labels: { type: 'string' }, 'select-thresholds': { type: 'boolean', default: false } },
    allowPositionals: false,
  });
  const config = loadConfig();
  const defaultNab = join(config.dataDir, 'nab');
  const dataDir = resolve(args.data ?? defaultNab);
  const labelsPath = resolve(args.labels ?? join(dataDir, 'labels', 'combined_windows.json'));
  if (!existsSync(dataDir)) throw new NovaError('NAB_FILE_MISSING', `NAB data folder not found: ${dataDir}; pass --data DIR or set NOVACRON_DATA (see docs/data.md)`);

  const t0 = performance.now();
  const prepared = prepareCorpus(loadNabCorpus(dataDir, labelsPath));
  const files = prepared.corpus.files;
  console.log(`NAB benchmark — NovaCron streaming detector`);
  console.log(`data:    ${dataDir}`);
  console.log(`windows: ${labelsPath} (${files.length} files, ${prepared.windowCount} windows, ${files.reduce((s, f) => s + f.values.length, 0)} rows)`);

  if (args['select-thresholds']) {
    // The documented procedure behind NAB_SHIPPED_THRESHOLDS; it prints, it never changes the constant.
    console.log('\nthreshold selection (median of the thresholds within 1 point of the best; run on the AWS subset only):');
    const rows = NAB_PROFILE_NAMES.map((p) => {
      const sel = selectThreshold(thresholdCurve(prepared, p));
      return [p, sel.best.toFixed(2), `${sel.plateau[0].toFixed(2)}–${sel.plateau[1].toFixed(2)}`, sel.threshold.toFixed(2), NAB_SHIPPED_THRESHOLDS[p].toFixed(2)];
    });
    console.log(table(['profile', 'best', 'plateau', 'selected', 'shipped'], rows));
  }

  const results = evaluateDetector(prepared, NAB_SHIPPED_THRESHOLDS);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`thresholds (shipped, chosen on realAWSCloudwatch only): ${NAB_PROFILE_NAMES.map((p) => `${p}=${NAB_SHIPPED_THRESHOLDS[p]}`).join(' ')}`);

  console.log('\nper file (raw NAB score; windows detected/total; FP = alarms outside windows):');
  const perFile = files.map((f, i) => {
    const cells = [f.key, String(f.values.length), String(prepared.weights[i]!.standard.windowCount)];
    for (const p of NAB_PROFILE_NAMES) {
      const r = results[p].files[i]!;
      cells.push(r.score.toFixed(3), `${r.detectedWindows}/${prepared.weights[i]![p].windowCount}`, String(r.fp));
    }
    return cells;
  });
  const hdr = ['file', 'rows', 'win'];
  for (const p of NAB_PROFILE_NAMES) hdr.push(SHORT[p], 'det', 'FP');
  console.log(table(hdr, perFile));

  console.log('\ntotals (raw score, null detector, perfect detector → normalised 100·(S−null)/(perfect−null)):');
  console.log(
    table(
      ['profile', 'threshold', 'raw', 'null', 'perfect', 'normalised'],
      NAB_PROFILE_NAMES.map((p) => {
        const r: CorpusScore = results[p];
        return [p, String(r.threshold), r.raw.toFixed(4), r.nullScore.toFixed(1), r.perfectScore.toFixed(1), r.normalized.toFixed(2)];
      }),
    ),
  );

  const publishedPath = join(defaultNab, 'reference', 'derived_scores_realAWSCloudwatch_subset.json');
  const published = readPublished(publishedPath);
  const awsOnly = files.length === 17 && files.every((f) => f.key.startsWith('realAWSCloudwatch/'));
  console.log(`\nsummary (normalised NAB score; published rows: ${publishedPath}, realAWSCloudwatch subset at NAB's corpus-wide thresholds)`);
  if (published.length > 0 && !awsOnly) console.log('note: the scored files are not the 17-file AWS subset, so the published rows are not like-for-like');
  const rows: Array<{ name: string; scores: Record<NabProfileName, number> }> = [
    { name: 'novacron (this run)', scores: Object.fromEntries(NAB_PROFILE_NAMES.map((p) => [p, results[p].normalized])) as Record<NabProfileName, number> },
    ...published,
  ];
  rows.sort((a, b) => b.scores.standard - a.scores.standard);
  console.log(table(['detector', ...NAB_PROFILE_NAMES], rows.map((r) => [r.name, ...NAB_PROFILE_NAMES.map((p) => r.scores[p].toFixed(2))])));
  console.log(`\n(${seconds.toFixed(1)} s)`);
  console.log(`NAB standard=${results.standard.normalized.toFixed(2)} reward_low_FP_rate=${results.reward_low_FP_rate.normalized.toFixed(2)} reward_low_FN_rate=${results.reward_low_FN_rate.normalized.toFixed(2)}`);
}

try {
  main();
} catch (err) {
  console.error(`bench:nab failed: ${describeError(err)}`);
  process.exitCode = 1;
}
