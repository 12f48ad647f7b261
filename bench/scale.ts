/**
 * bench:scale — how the decision function scales (planFleet: forecast every VM from its history, plan).
 *   npm run bench:scale [-- --hosts 10000 --vms 100000 --seed 1]
 * Builds a seeded synthetic fleet (mixed host and VM shapes, lightly loaded as real fleets are),
 * then times: a full consolidation plan (our planner) beside a plain first-fit-decreasing
 * baseline measured in the same run on the same fleet; and single placement decisions.
 * Last line: `scale plan_100k_vms_s=<x> placement_p99_ms=<y>`.
 */
import { parseArgs } from 'node:util';
import { seededRandom } from '../ingest/index.ts';
import { PlacementState, planFleet, type FleetSnapshot } from '../scheduler/index.ts';
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
const plan = planFleet(snapshot);
const planS = seconds(t0);

// Placement: requests against the fleet as it runs now, each one recorded before the next.
const rand = seededRandom(Number(values.seed) + 1);
const requests = Array.from({ length: 3000 }, (_, i) => ({ vmId: `new-${i}`, cpuCores: 0.1 + 3 * rand(), memBytes: (1 + Math.floor(15 * rand())) * 1024 ** 3, antiAffinityGroup: `g${i % 50}` }));
const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;
function timePlacements(decide: (r: (typeof requests)[number]) => unknown): number[] {
  const out: number[] = [];
  for (const r of requests) {
    const t = performance.now();
    decide(r);
    out.push(performance.now() - t);
  }
  return out.slice(100); // the first hundred warm the JIT up
}
const ours = new PlacementState(snapshot);
const oursMs = timePlacements((r) => ours.place(r));
// Baseline: plain first fit over hosts in id order on CPU and memory (no rules, no preference).
const ffCpu = new Float64Array(hosts);
const ffMem = new Float64Array(hosts);
const hostIndex = new Map(snapshot.hosts.map((h, i) => [h.hostId, i]));
for (const v of snapshot.vms) {
  ffCpu[hostIndex.get(v.hostId)!]! += v.cpuCores;
  ffMem[hostIndex.get(v.hostId)!]! += v.memBytes;
}
const firstFitMs = timePlacements((r) => {
  for (let h = 0; h < hosts; h++) {
    const host = snapshot.hosts[h]!;
    if (ffCpu[h]! + r.cpuCores <= host.cpuCores * 0.8 && ffMem[h]! + r.memBytes <= host.memBytes) {
      ffCpu[h]! += r.cpuCores;
      ffMem[h]! += r.memBytes;
      return h;
    }
  }
  return -1;
});

console.log(`fleet: ${hosts} hosts, ${vms} VMs (seeded synthetic; one core: node is single-threaded here)`);
console.log('');
console.log('planner                        seconds   hosts after   migrations');
console.log(`plain FFD (baseline)        ${baselineS.toFixed(3).padStart(10)}   ${String(baseline.hostsAfter).padStart(11)}   ${String(baseline.migrations).padStart(10)}`);
console.log(`novacron planFleet          ${planS.toFixed(3).padStart(10)}   ${String(plan.hostsAfter).padStart(11)}   ${String(plan.actions.filter((a) => a.kind === 'migrate').length).padStart(10)}`);
console.log('');
console.log('placement (one request at a time)   p50 ms    p99 ms    max ms');
const row = (name: string, xs: number[]) => console.log(`${name.padEnd(34)}${percentile(xs, 0.5).toFixed(3).padStart(8)}${percentile(xs, 0.99).toFixed(3).padStart(10)}${Math.max(...xs).toFixed(3).padStart(10)}`);
row('plain first fit (baseline)', firstFitMs);
row('novacron PlacementState.place', oursMs);
console.log(`scale plan_100k_vms_s=${planS.toFixed(3)} placement_p99_ms=${percentile(oursMs, 0.99).toFixed(3)}`);
