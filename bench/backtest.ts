/**
 * Backtest: replays a VM trace through a consolidation policy in simulated time (NovaCron's
 * CloudSim-compatible simulator) and prints energy, migrations, SLA metrics, active host-hours
 * and cost, with baselines measured in the same run: static peak-based FFD (clairvoyant sizing),
 * DVFS (no migration), the reactive threshold policy THR-MMT 0.8, LR-MMT 1.2, and the energy
 * lower bound no policy can beat.
 *
 *   npm run bench:backtest -- --trace planetlab [--day 20110303] [--traces DIR] [--order FILE]
 *   npm run bench:backtest -- --trace bitbrains [--day 2013-7] [--traces DIR] [--days N] [--hosts N]
 *   common: [--policies a,b,c] [--ours NAME] [--kwh-price 0.15] [--host-hour-price 0.05]
 *
 * On Bitbrains, NovaCron's snapshots also carry the VMs' configured sizes, memory use and the
 * example (illustrative) instance catalog, and the lines above the last one give the effect of its
 * plans' cost recommendations: rightsizing, burst-out, repatriation.
 *
 * The last line is always `backtest <trace> energy_kWh=… migrations=… SLAV=…% cost_usd=…` for
 * our policy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeError, loadConfig, NovaError, PROJECT_ROOT } from '../core/index.ts';
import { forecast } from '../models/index.ts';
import { parseCatalog } from '../scheduler/index.ts';
import { bitbrainsMonths } from '../traces/index.ts';
import { goalLine, numberFlag, policyList, runPolicies, usageError } from './backtest-runner.ts';
import {
  ALL_POLICIES,
  backtestCostRates,
  bitbrainsCostHooks,
  costEffectLines,
  createPolicy,
  plannerPolicy,
  readBitbrainsProvisionedMemoryKb,
  DEFAULT_BACKTEST_COST_RATES,
  defaultOrderFile,
  energyLowerBound,
  formatPercent,
  loadBitbrainsReplay,
  loadPlanetLabDay,
  lowerBoundRow,
  planetLabExperiment,
  resultCost,
  tableHeader,
  tableLine,
  type BacktestCostRates,
  type BitbrainsReplay,
  type Experiment,
} from '../replay/index.ts';

const TRACES = ['planetlab', 'bitbrains'] as const;
type Trace = (typeof TRACES)[number];
const DEFAULT_POLICIES = ['dvfs', 'static-peak-ffd', 'thr-mmt-0.8', 'lr-mmt-1.2', 'novacron'];
const OURS = 'novacron';
const BASELINE = 'lr-mmt-1.2';

const USAGE = `usage: npm run bench:backtest -- [--trace planetlab|bitbrains] [--day D] [--traces DIR] [--order FILE] [--days N] [--hosts N]
                                  [--policies LIST] [--ours NAME] [--kwh-price X] [--host-hour-price X]
  --trace     planetlab (default) or bitbrains
  --day       planetlab: day folder (default 20110303); bitbrains: month folder (default the first one, 2013-7)
  --traces    planetlab: folder holding <day>/ (default <NOVACRON_DATA>/traces/planetlab)
              bitbrains: folder holding <month>/ (default <NOVACRON_DATA>/traces/bitbrains-rnd)
  --order     planetlab only: file-order list (default <NOVACRON_DATA>/../docs/planetlab-file-order-<day>.txt)
  --days      bitbrains only: replay the first N days (default the whole trace)
  --hosts     bitbrains only: number of hosts (default one per VM file)
  --policies  comma-separated, from: ${Object.keys(ALL_POLICIES).join(', ')}
              (default ${DEFAULT_POLICIES.join(',')}; the lower bound is always printed)
  --ours      policy reported on the last line (default ${OURS}; always run)
  --kwh-price        electricity, $/kWh (default ${DEFAULT_BACKTEST_COST_RATES.kwhPrice}, an assumption)
  --host-hour-price  host amortisation per active host-hour, $ (default ${DEFAULT_BACKTEST_COST_RATES.hostHourPrice}, an assumption)`;

interface Args {
  trace: Trace;
  day: string | undefined;
  traces: string;
  order: string | undefined;
  days: number | undefined;
  hosts: number | undefined;
  policies: string[];
  ours: string;
  rates: BacktestCostRates;
}

const usage = (message: string): NovaError => usageError(message, USAGE);
const number = (value: string | undefined, flag: string, integer: boolean): number | undefined => numberFlag(value, flag, integer, USAGE);

function parse(argv: string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string', default: 'planetlab' },
        day: { type: 'string' },
        traces: { type: 'string' },
        order: { type: 'string' },
        days: { type: 'string' },
        hosts: { type: 'string' },
        policies: { type: 'string' },
        ours: { type: 'string', default: OURS },
        'kwh-price': { type: 'string' },
        'host-hour-price': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw usage((cause as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const trace = values.trace.toLowerCase() as Trace;
  if (!TRACES.includes(trace)) throw usage(`--trace must be one of ${TRACES.join(', ')}, got ${JSON.stringify(values.trace)}`);
  if (values.day !== undefined && !/^[\w.-]+$/.test(values.day)) throw usage(`--day must be a folder name such as 20110303 or 2013-7, got ${JSON.stringify(values.day)}`);
  if (trace === 'planetlab' && (values.days !== undefined || values.hosts !== undefined)) throw usage('--days and --hosts apply to --trace bitbrains only (a PlanetLab day is the CloudSim setup: 24 h, 800 hosts)');
  if (trace === 'bitbrains' && values.order !== undefined) throw usage('--order applies to --trace planetlab only');
  const ours = values.ours.toLowerCase();
  const dataDir = loadConfig().dataDir;
  return {
    trace,
    day: values.day,
    traces: values.traces ?? join(dataDir, 'traces', trace === 'planetlab' ? 'planetlab' : 'bitbrains-rnd'),
    order: trace === 'planetlab' ? (values.order ?? defaultOrderFile(dataDir, values.day ?? '20110303')) : undefined,
    days: number(values.days, '--days', true),
    hosts: number(values.hosts, '--hosts', true),
    policies: policyList(values.policies, DEFAULT_POLICIES, ours, USAGE),
    ours,
    rates: backtestCostRates({ kwhPrice: number(values['kwh-price'], '--kwh-price', false), hostHourPrice: number(values['host-hour-price'], '--host-hour-price', false) }),
  };
}

/** The month folder of a Bitbrains download: --day, else the first <month>/ folder, else the folder itself when it holds the CSVs. */
function bitbrainsFolder(traces: string, day: string | undefined): string {
  if (day !== undefined) return join(traces, day);
  if (!existsSync(traces)) throw new NovaError('TRACE_MISSING', `no Bitbrains folder at ${traces}; pass --traces DIR or set NOVACRON_DATA`);
  const months = bitbrainsMonths(traces);
  return months.length > 0 ? join(traces, months[0]!) : traces;
}

interface Loaded {
  exp: Experiment;
  label: string;
  notes: string[];
  /** Bitbrains only: the replay, for the cost inputs of NovaCron's snapshots. */
  replay?: BitbrainsReplay;
}

/** The catalog the Bitbrains replay prices its cost recommendations with: ILLUSTRATIVE example prices. */
const EXAMPLE_CATALOG = join(PROJECT_ROOT, 'scheduler', 'cost', 'catalog.example.json');

function loadPlanetLab(args: Args): Loaded {
  const day = args.day ?? '20110303';
  const loaded = loadPlanetLabDay(join(args.traces, day), args.order);
  const exp = planetLabExperiment(loaded.workload);
  const order = loaded.order.kind === 'order-file' ? `file-order list ${loaded.order.path}` : `SORTED file names (${loaded.order.reason}); only baselines run here are comparable`;
  return {
    exp,
    label: `PlanetLab ${day}`,
    notes: [`${exp.vmCount} VMs, ${exp.hostCount} hosts (CloudSim 3.0.3 setup, HP G4/G5), ${exp.ticks} decision ticks of ${exp.interval} s; traces ${join(args.traces, day)}`, `VM order: ${order}`],
  };
}

function loadBitbrains(args: Args): Loaded {
  const folder = bitbrainsFolder(args.traces, args.day);
  const replay = loadBitbrainsReplay(folder, { days: args.days, hosts: args.hosts });
  const exp = replay.experiment;
  const start = new Date(replay.start * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const imputed = replay.vms.reduce((s, v) => s + v.imputedPoints, 0);
  const gone = replay.vms.filter((v) => v.absentPoints > 0).map((v) => v.name);
  const capped = replay.vms.filter((v) => v.mips < v.capacityMhz).map((v) => v.name);
  return {
    exp,
    replay,
    label: `Bitbrains ${folder}`,
    notes: [
      `${exp.vmCount} VMs, ${exp.hostCount} hosts (IBM x3550 M3 X5670/X5675 alternating, 12 cores pooled, SPECpower curves from CloudSim), ${replay.samples} points of ${exp.interval} s from ${start} UTC (${((replay.samples * exp.interval) / 86400).toFixed(1)} days), ${exp.ticks} ticks; traces ${folder}`,
      `demand = measured CPU usage (MHz = MIPS), linear between measurements; ${imputed} of ${replay.samples * exp.vmCount} VM-points lie in monitoring gaps and are interpolated; usage floored at 1 MHz while a VM exists`,
      ...replay.skipped.map((s) => `skipped ${s.name}: ${s.reason}`),
      ...(gone.length > 0 ? [`left before the end (no measurement after): ${gone.join(', ')}`] : []),
      ...(capped.length > 0 ? [`VM size capped at the smallest host (${capped.join(', ')}: provisioned more MHz than one host has; their measured use stays far below)`] : []),
      'RAM binds only at t = 0 (CloudSim rule); a VM migration sends its median actively used memory at 1 Gbit/s',
    ],
  };
}

function main(): void {
  const args = parse(process.argv.slice(2));
  const { exp, label, notes, replay } = args.trace === 'planetlab' ? loadPlanetLab(args) : loadBitbrains(args);
  // Bitbrains: NovaCron's snapshots also carry the VMs' configured sizes, memory use and a catalog,
  // so its plans carry cost recommendations (they never change a move); their effect is summed up.
  const cost =
    replay && args.policies.includes('novacron')
      ? bitbrainsCostHooks(replay, { catalog: parseCatalog(readFileSync(EXAMPLE_CATALOG, 'utf8'), EXAMPLE_CATALOG), provisionedMemoryKb: readBitbrainsProvisionedMemoryKb(replay.folder) })
      : undefined;
  const make = (name: string) => (cost && name === 'novacron' ? plannerPolicy(cost.options) : createPolicy(name));
  const out: string[] = [];
  out.push(`Backtest — ${label}: policies replayed in simulated time, baselines and the energy lower bound in the same run`);
  out.push(...notes);
  out.push('');
  out.push(...tableHeader());
  const results = runPolicies(exp, args.policies, args.ours, args.rates, 'backtest', out, undefined, make);
  const bound = energyLowerBound(exp);
  out.push(tableLine(lowerBoundRow(bound, args.rates)));

  const ours = results.get(args.ours)!;
  const baseline = results.get(BASELINE);
  out.push('');
  out.push(`cost = energy × ${args.rates.kwhPrice} $/kWh + active host-hours × ${args.rates.hostHourPrice} $ — both prices are assumptions`);
  out.push(`static peak FFD: placed once on each VM's peak over the whole trace (clairvoyant sizing), never migrates; lower bound: the fewest, most efficient hosts covering the demand at every tick (mean ${bound.meanHosts.toFixed(1)}, peak ${bound.peakHosts}), demand split freely, no migration, no SLA violation`);
  if (ours.unplacedVms > 0) out.push(`note: ${ours.unplacedVms} VMs could not be placed at t = 0 and never ran`);
  out.push(`ours: ${ours.policy} — mean active hosts at ticks ${ours.meanActiveHostsAtTicks.toFixed(1)}, migrations by reason ${JSON.stringify(ours.migrationsByReason)}, energy ${(((ours.energyKWh - bound.energyKWh) / bound.energyKWh) * 100).toFixed(1)} % above the lower bound`);
  if (baseline !== undefined && baseline !== ours) out.push(goalLine(ours, baseline, 'same run'));
  if (cost) out.push(...costEffectLines(results.get('novacron')!.policy, cost.effect(), forecast.historyNeeded(), exp.interval));
  out.push(`backtest ${args.trace} energy_kWh=${ours.energyKWh.toFixed(2)} migrations=${ours.migrations} SLAV=${formatPercent(ours.slav * 100, 5)}% cost_usd=${resultCost(ours, args.rates).toFixed(2)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`backtest: ${describeError(err)}\n`);
  process.exit(err instanceof NovaError && err.code === 'BENCH_USAGE' ? 2 : 1);
}
