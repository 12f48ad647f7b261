/**
 * PlanetLab consolidation benchmark: the CloudSim 3.0.3 experiment of Beloglazov & Buyya (2012)
 * replayed in NovaCron's backtest simulator, reference policies beside their published rows,
 * then our policy. Spec: ../shared/docs/planetlab-benchmark.md.
 *
 *   npm run bench:planetlab -- --day 20110303 [--traces DIR] [--order FILE] [--policies a,b,c] [--ours NAME]
 *                              [--kwh-price 0.15] [--host-hour-price 0.05] [--dump-at STEP --dump-dir DIR]
 *
 * Our policy is the product's: the scheduler's planFleet with its default policy, fed each tick's
 * fleet snapshot (replay/planner-policy.ts). --dump-at saves the snapshot it saw at a tick and the
 * plan it applied, so `novacron plan --snapshot DIR/snapshot.json` can replay that decision.
 *
 * Besides CloudSim's policies the table holds a static peak-based FFD (clairvoyant sizing) and
 * the energy lower bound, and a cost column (energy and host-hours at assumed prices).
 * The last line is always `planetlab <day> energy_kWh=… migrations=… SLATAH=…% PDM=…% SLAV=…%`
 * for our policy.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, loadConfig, NovaError } from '../core/index.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { planToJson, snapshotToJson } from '../scheduler/index.ts';
import { goalLine, numberFlag, policyList, runPolicies, usageError } from './backtest-runner.ts';
import {
  ALL_POLICIES,
  backtestCostRates,
  createPolicy,
  plannerPolicy,
  DEFAULT_BACKTEST_COST_RATES,
  defaultOrderFile,
  energyLowerBound,
  loadPlanetLabDay,
  lowerBoundRow,
  planetLabExperiment,
  referenceRow,
  tableHeader,
  tableLine,
  type BacktestCostRates,
  type ReferenceRow,
} from '../replay/index.ts';

const DEFAULT_POLICIES = ['npa', 'dvfs', 'static-peak-ffd', 'thr-mmt-0.8', 'thr-mmt-1.0', 'iqr-mmt-1.5', 'mad-mmt-2.5', 'lr-mmt-1.2', 'novacron'];
const OURS = 'novacron';
const BASELINE = 'lr-mmt-1.2';

const USAGE = `usage: npm run bench:planetlab -- [--day YYYYMMDD] [--traces DIR] [--order FILE] [--policies LIST] [--ours NAME] [--kwh-price X] [--host-hour-price X]
  --day       PlanetLab day folder name (default 20110303)
  --traces    folder holding <day>/ folders (default <NOVACRON_DATA>/traces/planetlab)
  --order     file-order list: one trace name per line = VM numbering CloudSim saw
              (default <NOVACRON_DATA>/../docs/planetlab-file-order-<day>.txt; sorted order when absent)
  --policies  comma-separated, from: ${Object.keys(ALL_POLICIES).join(', ')}
              (default ${DEFAULT_POLICIES.join(',')})
  --ours      policy reported on the last line (default ${OURS}; always run)
  --kwh-price        electricity price for the cost column, $/kWh (default ${DEFAULT_BACKTEST_COST_RATES.kwhPrice}, an assumption)
  --host-hour-price  host amortisation per active host-hour, $ (default ${DEFAULT_BACKTEST_COST_RATES.hostHourPrice}, an assumption)
  --dump-at   decision tick (1 … 287) at which to save what our policy saw and did (needs --dump-dir)
  --dump-dir  folder for snapshot.json (the fleet snapshot of that tick) and plan.json (the plan applied);
              \`./novacron plan --snapshot DIR/snapshot.json --out PLAN.json\` replans it byte for byte`;

interface Args {
  day: string;
  traces: string;
  order: string;
  policies: string[];
  ours: string;
  rates: BacktestCostRates;
  dump: { tick: number; dir: string } | undefined;
}

function parse(argv: string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        day: { type: 'string', default: '20110303' },
        traces: { type: 'string' },
        order: { type: 'string' },
        policies: { type: 'string' },
        ours: { type: 'string', default: OURS },
        'kwh-price': { type: 'string' },
        'host-hour-price': { type: 'string' },
        'dump-at': { type: 'string' },
        'dump-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw usageError((cause as Error).message, USAGE);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const config = loadConfig();
  const day = values.day;
  if (!/^[\w.-]+$/.test(day)) throw new NovaError('BENCH_USAGE', `--day must be a folder name such as 20110303, got ${JSON.stringify(day)}`);
  const ours = values.ours.toLowerCase();
  const dumpAt = numberFlag(values['dump-at'], '--dump-at', true, USAGE);
  if ((dumpAt === undefined) !== (values['dump-dir'] === undefined)) throw usageError('--dump-at and --dump-dir go together', USAGE);
  if (dumpAt !== undefined && ours !== OURS) throw usageError(`--dump-at saves what ${OURS} saw; it cannot be used with --ours ${ours}`, USAGE);
  return {
    day,
    traces: values.traces ?? join(config.dataDir, 'traces', 'planetlab'),
    order: values.order ?? defaultOrderFile(config.dataDir, day),
    policies: policyList(values.policies, DEFAULT_POLICIES, ours, USAGE),
    ours,
    rates: backtestCostRates({ kwhPrice: numberFlag(values['kwh-price'], '--kwh-price', false, USAGE), hostHourPrice: numberFlag(values['host-hour-price'], '--host-hour-price', false, USAGE) }),
    dump: dumpAt === undefined ? undefined : { tick: dumpAt, dir: values['dump-dir']! },
  };
}

const pct = (x: number, digits: number): string => (x * 100).toFixed(digits);

function referenceLine(ref: ReferenceRow): string {
  return tableLine({ label: `  ref: CloudSim 3.0.3${ref.order === 'sorted' ? ' (sorted)' : ''}`, energyKWh: ref.energyKWh, migrations: ref.migrations, slatahPct: ref.slatahPct, pdmPct: ref.pdmPct, slavPct: ref.slavPct, shutdowns: ref.hostShutdowns });
}

function main(): void {
  const args = parse(process.argv.slice(2));
  const dayDir = join(args.traces, args.day);
  const loaded = loadPlanetLabDay(dayDir, args.order);
  const exp = planetLabExperiment(loaded.workload);
  const orderKind = loaded.order.kind;
  const orderNote = loaded.order.kind === 'order-file'
    ? `file-order list ${loaded.order.path}`
    : `SORTED file names (${loaded.order.reason}); CloudSim numbers VMs in directory-listing order, so only baselines run here are comparable`;
  if (loaded.order.kind === 'sorted') process.stderr.write(`[planetlab] note: ${orderNote}\n`);

  const out: string[] = [];
  out.push(`PlanetLab consolidation benchmark — CloudSim 3.0.3 experiment (Beloglazov & Buyya 2012), spec ../shared/docs/planetlab-benchmark.md`);
  out.push(`day ${args.day}: ${exp.vmCount} VMs, ${exp.hostCount} hosts, ${exp.ticks} decision ticks of ${exp.interval} s; traces ${dayDir}`);
  out.push(`VM order: ${orderNote}`);
  out.push('');
  out.push(...tableHeader());

  if (args.dump && args.dump.tick > exp.ticks) throw usageError(`--dump-at must be a tick from 1 to ${exp.ticks}, got ${args.dump.tick}`, USAGE);
  let dumped = false;
  // Our policy runs from the day's midnight (UTC) so its snapshots carry real dates.
  const dayStart = /^(\d{4})(\d{2})(\d{2})$/.exec(args.day);
  const startMs = dayStart ? Date.UTC(Number(dayStart[1]), Number(dayStart[2]) - 1, Number(dayStart[3])) : 0;
  const make = (name: string) => {
    if (name !== OURS) return createPolicy(name);
    return plannerPolicy({
      startMs,
      onPlan: (tick, snapshot, plan) => {
        if (args.dump?.tick !== tick) return;
        mkdirSync(args.dump.dir, { recursive: true });
        writeFileSync(join(args.dump.dir, 'snapshot.json'), snapshotToJson(snapshot));
        writeFileSync(join(args.dump.dir, 'plan.json'), planToJson(plan));
        dumped = true;
      },
    });
  };
  const results = runPolicies(exp, args.policies, args.ours, args.rates, 'planetlab', out, (result) => {
    const ref = referenceRow(args.day, result.policy, orderKind);
    return ref === undefined ? undefined : referenceLine(ref);
  }, make);
  if (args.dump) process.stderr.write(dumped ? `[planetlab] tick ${args.dump.tick}: wrote ${join(args.dump.dir, 'snapshot.json')} and ${join(args.dump.dir, 'plan.json')}\n` : `[planetlab] tick ${args.dump.tick} was never planned\n`);

  const bound = energyLowerBound(exp);
  out.push(tableLine(lowerBoundRow(bound, args.rates)));

  const ours = results.get(args.ours)!;
  const baseline = results.get(BASELINE);
  out.push('');
  out.push(`cost = energy × ${args.rates.kwhPrice} $/kWh + active host-hours × ${args.rates.hostHourPrice} $ (both prices are assumptions; NPA pays for all ${exp.hostCount} hosts all the time); static peak FFD sizes VMs by their peak over the whole day (clairvoyant); the lower bound (mean ${bound.meanHosts.toFixed(1)} hosts) serves the demand on the fewest, most efficient hosts with no migration`);
  const gap = (ours.energyKWh - bound.energyKWh) / bound.energyKWh;
  out.push(`ours vs lower bound: energy +${(gap * 100).toFixed(1)} %`);
  if (baseline !== undefined && baseline !== ours) {
    // The one-policy goal: near the bound, without buying it with SLA or migrations.
    const met = gap <= 0.15 && ours.slav * 100 <= 0.001 && ours.migrations * 4 <= baseline.migrations;
    out.push(`goal (within 15 % of the lower bound, SLAV ≤ 0.001 %, ≤ ¼ of ${baseline.policy}'s migrations): ${met ? 'MET' : 'NOT met'} (+${(gap * 100).toFixed(1)} %, SLAV ${pct(ours.slav, 5)} %, ${ours.migrations} vs ${baseline.migrations} / 4 = ${Math.floor(baseline.migrations / 4)})`);
  }
  if (ours.unplacedVms > 0) out.push(`note: ${ours.unplacedVms} VMs could not be placed at t = 0 and never ran`);
  out.push(`ours: ${ours.policy} — ${ours.finishedVms} VMs finished (zero demand), mean active hosts at ticks ${ours.meanActiveHostsAtTicks.toFixed(1)}, migrations by reason ${JSON.stringify(ours.migrationsByReason)}`);
  if (baseline !== undefined && baseline !== ours) out.push(goalLine(ours, baseline, 'same run, same VM order'));
  out.push(`planetlab ${args.day} energy_kWh=${ours.energyKWh.toFixed(2)} migrations=${ours.migrations} SLATAH=${pct(ours.slatah, 2)}% PDM=${pct(ours.pdm, 2)}% SLAV=${pct(ours.slav, 5)}%`);
  process.stdout.write(`${out.join('\n')}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`planetlab: ${describeError(err)}\n`);
  process.exit(err instanceof NovaError && err.code === 'BENCH_USAGE' ? 2 : 1);
}
