/**
 * bench:ingest's agent stand-in, run as its own process (forked with an IPC channel): the
 * synthetic fleet (ingest/synthetic.ts) → SamplePublisher → the MessageBus from createBus, so
 * the producing side is exactly what `novacron simulate` runs. Samples are live: each slice
 * of hosts is stamped with the wall clock when it is made, at an open-loop target rate (the
 * schedule never waits for the pipeline) or as fast as the publisher takes them ("max").
 *
 *   argv: --vms N --rate N|max --index i --count n --seed s   (config from the environment)
 * IPC out: {type:'ready'} · {type:'progress', vm, host, buckets:[[bucket, vmRows]…]} · {type:'done', …}
 * IPC in:  {type:'start'} · {type:'stop'}
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBus, createLogger, loadConfig, topicsFor } from '../../core/index.ts';
import { SamplePublisher, SyntheticFleet, type FleetTick } from '../../ingest/index.ts';
import { encodeHostTick, localRegistry, type HostSample, type VmSample } from '../../schemas/index.ts';
import { BUCKET_MS } from './latency.ts';

const VMS_PER_HOST = 8;
/** Most hosts made per slice: bounds how long one loop turn blocks the event loop. */
const SLICE_HOSTS = 250;
/** Queued samples are sent at least this often, so a low rate does not sit in the buffer. */
const FLUSH_MS = 50;
const REPORT_MS = 250;

const { values } = parseArgs({
  options: {
    vms: { type: 'string', default: '100000' },
    rate: { type: 'string', default: 'max' },
    index: { type: 'string', default: '0' },
    count: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
  },
});
const send = (m: unknown) => process.send?.(m);

const config = loadConfig();
const log = createLogger('bench-producer', config.logLevel);
const hostsTotal = Math.max(1, Math.floor(Number(values.vms) / VMS_PER_HOST));
const index = Number(values.index);
const count = Number(values.count);
const max = values.rate === 'max';
const rate = max ? Infinity : Number(values.rate) / count;
// This producer's share of the fleet, a block of hosts, like agents on separate machines: it
// computes only its own hosts' samples (each producer computing the whole fleet's tick to send
// its share was ~half of the producers' JavaScript time wasted).
const firstHost = Math.floor((hostsTotal * index) / count);
const shareHosts = Math.floor((hostsTotal * (index + 1)) / count) - firstHost;
const fleetOptions = { hosts: shareHosts, firstHost, vmsPerHost: VMS_PER_HOST, seed: Number(values.seed) * 1_000 + index, stepMs: 1000 };
const fleet = new SyntheticFleet(fleetOptions);

/**
 * Makes and encodes three rounds of a spare fleet before reporting ready, so V8 has compiled the
 * fleet's and the encoder's hot paths. Why: these processes stand in for agents on other
 * machines, yet a cold one spent 430 – 710 ms of CPU in its first second of producing (measured
 * per process from /proc, 2 producers at 130,000/s), taking cores from the pipeline being measured.
 */
function warmUp(): void {
  const spare = new SyntheticFleet(fleetOptions);
  for (let r = 0; r < 3; r++) {
    const tick = spare.tick(r, Date.now());
    for (let h = 0; h < tick.hosts.length; h++) {
      encodeHostTick({ host: tick.hosts[h]!, vms: tick.vms.slice(h * VMS_PER_HOST, (h + 1) * VMS_PER_HOST) }, localRegistry);
    }
  }
}
warmUp();

let stopping = false;
let started: () => void = () => undefined;
const start = new Promise<void>((r) => (started = r));
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'start') started();
  if (m?.type === 'stop') {
    stopping = true;
    started();
  }
});
// The parent owns shutdown; a stray Ctrl-C to the group must not kill us mid-flush.
process.on('SIGINT', () => (stopping = true));

const bus = createBus(config, log);
const producer = await bus.producer();
const publisher = new SamplePublisher(producer, topicsFor(config));
send({ type: 'ready' });
await start;

let pending = new Map<number, number>();
let reported = { vm: 0, host: 0 };
const report = () => {
  const s = publisher.stats;
  send({ type: 'progress', vm: s.vmSamples - reported.vm, host: s.hostSamples - reported.host, buckets: [...pending] });
  reported = { vm: s.vmSamples, host: s.hostSamples };
  pending = new Map();
};
const reporter = setInterval(report, REPORT_MS);

let round: FleetTick = fleet.tick(0, Date.now());
let roundNo = 0;
let cursor = 0;
let sentHosts = 0;
const t0 = performance.now();
let lastFlush = t0;
let queued = false;
while (!stopping) {
  const now = performance.now();
  const due = max ? sentHosts + SLICE_HOSTS : Math.floor((((now - t0) / 1000) * rate) / (VMS_PER_HOST + 1));
  const n = Math.min(due - sentHosts, SLICE_HOSTS);
  if (n <= 0) {
    if (queued && now - lastFlush >= FLUSH_MS) {
      await publisher.flush();
      lastFlush = performance.now();
      queued = false;
    } else await sleep(2);
    continue;
  }
  const ts = Date.now();
  const hosts: HostSample[] = [];
  const vms: VmSample[] = [];
  for (let k = 0; k < n; k++) {
    if (cursor === fleet.hosts.length) {
      // A new round: every VM of the share has sent once; make the next instant's values.
      round = fleet.tick(++roundNo, ts);
      cursor = 0;
    }
    const h = cursor++;
    const host = round.hosts[h]!;
    host.ts = ts;
    hosts.push(host);
    for (let v = h * VMS_PER_HOST; v < (h + 1) * VMS_PER_HOST; v++) {
      const vm = round.vms[v]!;
      vm.ts = ts;
      vms.push(vm);
    }
  }
  await publisher.addTick({ ts, hosts, vms });
  const bucket = Math.floor(ts / BUCKET_MS);
  pending.set(bucket, (pending.get(bucket) ?? 0) + vms.length);
  sentHosts += n;
  queued = true;
  if (performance.now() - lastFlush >= FLUSH_MS) {
    await publisher.flush();
    lastFlush = performance.now();
    queued = false;
  }
}
await publisher.flush();
clearInterval(reporter);
report();
await producer.close();
send({ type: 'done', seconds: (performance.now() - t0) / 1000, vm: publisher.stats.vmSamples, host: publisher.stats.hostSamples });
// Exit now: the IPC channel and kafkajs timers would otherwise keep the process up.
process.send ? process.send({ type: 'bye' }, () => process.exit(0)) : process.exit(0);
