import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateSample } from '../../schemas/index.ts';
import { parseDomStats, type DomainObservation } from './domstats.ts';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, type HostObservation } from './procfs.ts';
import { buildHostSample, buildVmSample } from './samples.ts';

// Two reads of a 2-CPU Debian 12 VM two seconds apart (recorded), a guest's tap vnet0, a
// bridge virbr0 and an ifb mirror device added to its /proc/net/dev.
const READ_1 = {
  stat: 'cpu  41208 0 9354 77765 641 0 171 90 0 0\ncpu0 19643 0 4322 40458 109 0 38 40 0 0\ncpu1 21565 0 5032 37306 532 0 132 49 0 0\n',
  net: ' face |bytes\n  eth0: 638761570   18913    0    0    0     0          0         0  1760264   13807    0    0    0     0       0          0\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n vnet0: 1000 1 0 0 0 0 0 0 1000 1 0 0 0 0 0 0\nvirbr0: 1000 1 0 0 0 0 0 0 1000 1 0 0 0 0 0 0\n  ifb0: 1000 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
  disk: ' 254       0 vda 82142 13440 3325026 25466 49577 89328 8686952 67665 0 16300 98823 21103 34 103986968 3473 11202 2219\n',
};
const READ_2 = {
  stat: 'cpu  41394 0 9376 77950 642 0 171 90 0 0\ncpu0 19748 0 4328 40543 109 0 38 40 0 0\ncpu1 21646 0 5048 37406 533 0 132 49 0 0\n',
  net: ' face |bytes\n  eth0: 638763550   18943    0    0    0     0          0         0  1762244   13837    0    0    0     0       0          0\n    lo: 900100 1 0 0 0 0 0 0 900100 1 0 0 0 0 0 0\n vnet0: 801000 1 0 0 0 0 0 0 801000 1 0 0 0 0 0 0\nvirbr0: 801000 1 0 0 0 0 0 0 801000 1 0 0 0 0 0 0\n  ifb0: 5000 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n',
  disk: ' 254       0 vda 82338 13440 3326594 25476 49622 89328 8694600 67679 0 16332 98853 21118 34 103994416 3477 11216 2220\n',
};
const MEMINFO = 'MemTotal:       24683664 kB\nMemFree:        19581164 kB\nMemAvailable:   21971740 kB\n';

function host(read: typeof READ_1, atMs: number): HostObservation {
  return {
    atMs,
    cpu: parseProcStat(read.stat),
    ...parseMeminfo(MEMINFO),
    load: parseLoadavg('0.85 0.50 0.22 2/331 13642'),
    net: parseNetDev(read.net),
    bridges: new Set(['virbr0']),
    disk: parseDiskstats(read.disk),
  };
}

describe('buildHostSample', () => {
  const ts = Date.now();

  it('the first read is a baseline only', () => {
    assert.deepEqual(buildHostSample(undefined, host(READ_1, 0), 'h1', ts, new Set()), { skipped: 'no-baseline' });
  });

  it('CPU as a share of the interval\'s ticks × CPUs; bytes per second over the real elapsed time', () => {
    const built = buildHostSample(host(READ_1, 10_000), host(READ_2, 12_000), 'h1', ts, new Set(['vnet0']));
    assert.ok('sample' in built);
    const s = built.sample;
    // Deltas: user 186, system 22, idle 185, iowait 1: busy 208 of 394 ticks, on 2 CPUs.
    assert.equal(s.cpuUsedCores, (208 / 394) * 2);
    assert.equal(s.cpuCapacityCores, 2);
    assert.equal(s.cpuStealPct, 0);
    assert.equal(s.memTotalBytes, 24683664 * 1024);
    assert.equal(s.memUsedBytes, (24683664 - 21971740) * 1024);
    // Only eth0: lo, the bridge, the ifb mirror and the guest's tap are left out.
    assert.equal(s.netRxBps, (638763550 - 638761570) / 2);
    assert.equal(s.netTxBps, (1762244 - 1760264) / 2);
    assert.equal(s.diskReadBps, ((3326594 - 3325026) * 512) / 2);
    assert.equal(s.diskWriteBps, ((8694600 - 8686952) * 512) / 2);
    assert.equal(s.hostId, 'h1');
    assert.equal(s.ts, ts);
    validateSample({ kind: 'host', sample: s });
  });

  it('steal is its share of the interval\'s ticks', () => {
    const a = host(READ_1, 0);
    const b = host(READ_2, 1000);
    b.cpu = parseProcStat('cpu  41394 0 9376 77950 642 0 171 134 0 0\ncpu0 1\ncpu1 1\n');
    const built = buildHostSample(a, b, 'h1', ts, new Set());
    assert.ok('sample' in built);
    assert.equal(built.sample.cpuStealPct, (44 / (394 + 44)) * 100);
  });

  it('CPU counters that went backwards (a new boot under the same agent state) give no sample, never negatives', () => {
    assert.deepEqual(buildHostSample(host(READ_2, 0), host(READ_1, 1000), 'h1', ts, new Set()), { skipped: 'counter-reset' });
  });
});

const DOM = (cpuTimeNs: number, extra: Partial<DomainObservation> = {}): DomainObservation => ({
  ...parseDomStats(`Domain: 'vm1'
  state.state=1
  cpu.time=${cpuTimeNs}
  balloon.current=65536
  balloon.maximum=65536
  balloon.rss=44592
  vcpu.current=2
  vcpu.0.delay=1000000000
  vcpu.1.delay=1000000000
  net.count=1
  net.0.name=vnet0
  net.0.rx.bytes=1000
  net.0.tx.bytes=2000
  block.count=1
  block.0.name=vda
  block.0.rd.bytes=4096
  block.0.wr.bytes=8192
`)[0]!,
  ...extra,
});

describe('buildVmSample', () => {
  const ts = Date.now();

  it('cores from cpu.time, delay % of the vCPUs\' time, device bytes per second, memory from the balloon', () => {
    const later = DOM(4e9, {
      vcpuDelayNs: 2e9 + 0.4e9,
      net: new Map([['vnet0', { inBytes: 5000, outBytes: 2000 }]]),
      block: new Map([['vda', { inBytes: 4096 + 8192, outBytes: 8192 }]]),
    });
    const built = buildVmSample(DOM(1e9), later, 2, 'h1', ts);
    assert.ok('sample' in built);
    const s = built.sample;
    assert.equal(s.cpuUsedCores, 3e9 / 2 / 1e9);
    assert.equal(s.vcpus, 2);
    assert.equal(s.vcpuDelayPct, (0.4e9 / 2 / 1e9 / 2) * 100);
    assert.equal(s.netRxBps, 2000);
    assert.equal(s.netTxBps, 0);
    assert.equal(s.diskReadBps, 4096);
    assert.equal(s.memUsedBytes, 44592 * 1024);
    assert.equal(s.memTotalBytes, 65536 * 1024);
    assert.equal(s.vmId, 'vm1');
    validateSample({ kind: 'vm', sample: s });
  });

  it('CPU over the vCPUs (emulator threads) is capped at the vCPUs; no delay figures give 0', () => {
    const built = buildVmSample(DOM(0, { vcpuDelayNs: undefined }), DOM(5e9, { vcpuDelayNs: undefined }), 2, 'h1', ts);
    assert.ok('sample' in built);
    assert.equal(built.sample.cpuUsedCores, 2);
    assert.equal(built.sample.vcpuDelayPct, 0);
  });

  it('a VM seen for the first time, or restarted (cpu.time went back), has no sample', () => {
    assert.deepEqual(buildVmSample(undefined, DOM(1e9), 2, 'h1', ts), { skipped: 'no-baseline' });
    assert.deepEqual(buildVmSample(DOM(9e9), DOM(1e9), 2, 'h1', ts), { skipped: 'counter-reset' });
  });
});
