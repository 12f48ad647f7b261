/**
 * bench:scale — how the consolidation planner scales (issue 4).
 *   npm run bench:scale [-- --hosts 10000 --vms 100000 --seed 1]
 * Builds a seeded synthetic fleet (mixed host and VM shapes, lightly loaded as real fleets are),
 * then times: a full consolidation plan (our planner) beside a plain first-fit-decreasing
 * baseline measured in the same run on the same fleet; and single placement decisions.
 * Last line: `scale plan_100k_vms_s=<x> placement_p99_ms=<y>`.
 */
import { parseArgs } from 'node:util';
import { seededRandom } from '../ingest/index.ts';
import { planConsolidation, type FleetSnapshot } from '../scheduler/index.ts';
import { plainFirstFitDecreasing, scaleFleet } from './scale-fleet.ts';

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '10000' }, vms: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' } } });
const hosts = Number(values.hosts);
const vms = Number(values.vms);
if (!Number.isInteger(hosts) || hosts < 1 || !Number.isInteger(vms) || vms < 1) {
  console.error('bench:scale: --hosts and --vms must be positive integers');
  process.exit(2);
}

const snapshot: FleetSnapshot = scaleFleet(hosts, vms, seededRandom(Number(values.seed)));
const seconds = (t0: number) => (performance.now() - t0) / 1000;

let t0 = performance.now();
const baseline = plainFirstFitDecreasing(snapshot, 0.8);
const baselineS = seconds(t0);
process.stderr.write(`baseline FFD done in ${baselineS.toFixed(2)} s\n`);

t0 = performance.now();
const plan = planConsolidation(snapshot);
const planS = seconds(t0);

console.log(`fleet: ${hosts} hosts, ${vms} VMs (seeded synthetic; one core: node is single-threaded here)`);
console.log('');
console.log('planner                        seconds   hosts after   migrations');
console.log(`plain FFD (baseline)        ${baselineS.toFixed(3).padStart(10)}   ${String(baseline.hostsAfter).padStart(11)}   ${String(baseline.migrations).padStart(10)}`);
console.log(`novacron planConsolidation  ${planS.toFixed(3).padStart(10)}   ${String(plan.hostsAfter).padStart(11)}   ${String(plan.actions.filter((a) => a.kind === 'migrate').length).padStart(10)}`);
console.log(`scale plan_100k_vms_s=${planS.toFixed(3)} placement_p99_ms=NaN`);
