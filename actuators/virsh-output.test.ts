import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../core/index.ts';
import { domainStateName, parseDomStatsRaw, parseJobInfoRaw, toDomainStats, toMigrationProgress } from './virsh-output.ts';

// Output recorded from libvirt 9.0.0 / QEMU 7.2 on Debian 12 (LC_ALL=C).

// `virsh domstats --raw --state --cpu-total --balloon --vcpu --block --interface` of a running
// diskless guest with an empty IDE CD-ROM and a tap NIC (type='ethernet').
const GUEST_WITH_NIC = `Domain: 'nct-27083-rec'
  state.state=1
  state.reason=1
  cpu.time=520015000
  cpu.user=337661000
  cpu.system=182353000
  cpu.cache.monitor.count=0
  cpu.haltpoll.success.time=0
  cpu.haltpoll.fail.time=0
  balloon.current=65536
  balloon.maximum=65536
  balloon.last-update=0
  balloon.rss=42732
  vcpu.current=1
  vcpu.maximum=2
  vcpu.0.state=1
  vcpu.0.time=240000000
  vcpu.0.wait=0
  vcpu.0.delay=48999705
  net.count=1
  net.0.name=nctap0
  net.0.rx.bytes=180
  net.0.rx.pkts=2
  net.0.rx.errs=0
  net.0.rx.drop=0
  net.0.tx.bytes=0
  net.0.tx.pkts=0
  net.0.tx.errs=0
  net.0.tx.drop=0
  block.count=1
  block.0.name=hdc
  block.0.rd.reqs=0
  block.0.rd.bytes=0
  block.0.rd.times=0
  block.0.wr.reqs=0
  block.0.wr.bytes=0
  block.0.wr.times=0
  block.0.fl.reqs=0
  block.0.fl.times=0

`;

// Two guests in one call: one with a CD-ROM image and user-mode networking (counted, no figures),
// then one paused after a setvcpus to 2.
const TWO_GUESTS = `Domain: 'rich1'
  state.state=1
  state.reason=1
  cpu.time=503844000
  cpu.user=349476000
  cpu.system=154368000
  balloon.current=131072
  balloon.maximum=131072
  balloon.last-update=0
  balloon.rss=43028
  vcpu.current=1
  vcpu.maximum=2
  vcpu.0.state=1
  vcpu.0.time=250000000
  vcpu.0.wait=0
  vcpu.0.delay=15903599
  net.count=1
  block.count=1
  block.0.name=hdc
  block.0.path=/tmp/empty.iso
  block.0.backingIndex=1
  block.0.rd.reqs=2
  block.0.rd.bytes=4096
  block.0.rd.times=2204933
  block.0.wr.reqs=0
  block.0.wr.bytes=0
  block.0.wr.times=0
  block.0.fl.reqs=0
  block.0.fl.times=0
  block.0.allocation=0
  block.0.capacity=1048576
  block.0.physical=1048576

Domain: 'it's paused'
  state.state=3
  state.reason=1
  cpu.time=3480000000
  balloon.current=65536
  balloon.maximum=131072
  vcpu.current=2
  vcpu.maximum=2
  net.count=0
  block.count=0

`;

// libvirt's test driver reports the state group only.
const TEST_DRIVER = `Domain: 'test'
  state.state=1
  state.reason=0

`;

// `virsh domjobinfo --rawstats` during a live migration (bandwidth-capped), and on the target after it.
const JOB_RUNNING = `Job type: 2

operation: 5
time_elapsed: 1204
downtime: 300
setup_time: 0
data_total: 67502080
data_processed: 6730298
data_remaining: 44163072
memory_total: 67502080
memory_processed: 6730298
memory_remaining: 44163072
memory_bps: 8413380
memory_constant: 4067
memory_normal: 1631
memory_normal_bytes: 6680576
memory_dirty_rate: 0
memory_iteration: 1
memory_postcopy_requests: 0
memory_page_size: 4096
disk_total: 0
disk_processed: 0
disk_remaining: 0

`;
const JOB_NONE = `Job type: 0

`;

describe('virsh domstats --raw', () => {
  it('reads cpu, balloon, vcpu, block and net figures, in bytes', () => {
    const [s, ...rest] = parseDomStatsRaw(GUEST_WITH_NIC).map(toDomainStats);
    assert.equal(rest.length, 0);
    assert.deepEqual(s, {
      name: 'nct-27083-rec',
      state: 'running',
      cpuTimeNs: 520015000,
      vcpus: 1,
      balloonCurrentBytes: 65536 * 1024,
      balloonMaximumBytes: 65536 * 1024,
      balloonRssBytes: 42732 * 1024,
      block: [{ name: 'hdc', readBytes: 0, writeBytes: 0, readRequests: 0, writeRequests: 0 }],
      net: [{ name: 'nctap0', rxBytes: 180, txBytes: 0, rxPackets: 2, txPackets: 0 }],
    });
  });

  it('reads several domains in order, keeps quotes in names, skips NICs without figures', () => {
    const stats = parseDomStatsRaw(TWO_GUESTS).map(toDomainStats);
    assert.deepEqual(stats.map((s) => [s.name, s.state, s.vcpus]), [['rich1', 'running', 1], ["it's paused", 'paused', 2]]);
    assert.deepEqual(stats[0]!.block, [{ name: 'hdc', readBytes: 4096, writeBytes: 0, readRequests: 2, writeRequests: 0 }]);
    assert.deepEqual(stats[0]!.net, []);
    assert.equal(stats[1]!.balloonCurrentBytes, 64 * 2 ** 20);
    assert.equal(stats[1]!.balloonMaximumBytes, 128 * 2 ** 20);
    assert.equal(stats[1]!.balloonRssBytes, undefined);
  });

  it('gives 0 for counters a driver does not report (the test driver: state only)', () => {
    assert.deepEqual(parseDomStatsRaw(TEST_DRIVER).map(toDomainStats), [
      { name: 'test', state: 'running', cpuTimeNs: 0, vcpus: 0, balloonCurrentBytes: 0, balloonMaximumBytes: 0, block: [], net: [] },
    ]);
    assert.deepEqual(parseDomStatsRaw(''), []);
  });

  it('reports output it does not understand with a stable code', () => {
    assert.throws(() => parseDomStatsRaw('  cpu.time=1\n'), (e) => hasCode(e, 'LIBVIRT_OUTPUT_UNEXPECTED'));
    assert.throws(() => parseDomStatsRaw("Domain: 'x'\nno equals sign\n"), (e) => hasCode(e, 'LIBVIRT_OUTPUT_UNEXPECTED'));
  });

  it('names every libvirt domain state as virsh does', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(domainStateName), ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended']);
    assert.equal(domainStateName(42), 'state 42');
  });
});

describe('virsh domjobinfo --rawstats', () => {
  it('reads a running migration job as progress', () => {
    const job = parseJobInfoRaw(JOB_RUNNING);
    assert.equal(job.type, 2);
    assert.equal(job.fields.get('memory_bps'), 8413380);
    assert.deepEqual(toMigrationProgress(job), { elapsedMs: 1204, dataTotalBytes: 67502080, dataProcessedBytes: 6730298, dataRemainingBytes: 44163072 });
  });

  it('reads "no job"', () => {
    const job = parseJobInfoRaw(JOB_NONE);
    assert.equal(job.type, 0);
    assert.equal(job.fields.size, 0);
    assert.throws(() => parseJobInfoRaw('Job type:         Unbounded\n'), (e) => hasCode(e, 'HYPERVISOR_OUTPUT_UNEXPECTED'));
  });
});
