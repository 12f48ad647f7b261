import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hasCode } from '../../core/index.ts';
import { DOMSTATS_ARGS, domainMemory, parseDomStats, VirshDomainReader } from './domstats.ts';

// Recorded: `LC_ALL=C virsh -c qemu:///system domstats --raw --list-active --state --cpu-total
// --balloon --vcpu --block --interface` on libvirt 9.0.0 / QEMU 7.2 (Debian 12): a running diskless
// guest (1 of 2 vCPUs online, an empty IDE CD-ROM, a tap NIC vnet0, a virtio balloon with no driver
// inside). The second domain is adapted from another recording (user-mode networking: counted,
// no figures) to be paused with both vCPUs online.
const RECORDED = `Domain: 'nct-13955-1-b5cba4'
  state.state=1
  state.reason=1
  cpu.time=5202967000
  cpu.user=5049687000
  cpu.system=153280000
  cpu.cache.monitor.count=0
  cpu.haltpoll.success.time=0
  cpu.haltpoll.fail.time=0
  balloon.current=65536
  balloon.maximum=65536
  balloon.last-update=0
  balloon.rss=44592
  vcpu.current=1
  vcpu.maximum=2
  vcpu.0.state=1
  vcpu.0.time=5060000000
  vcpu.0.wait=0
  vcpu.0.delay=678443675
  net.count=1
  net.0.name=vnet0
  net.0.rx.bytes=586
  net.0.rx.pkts=7
  net.0.rx.errs=0
  net.0.rx.drop=0
  net.0.tx.bytes=1676
  net.0.tx.pkts=8
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

Domain: 'rich1'
  state.state=3
  state.reason=1
  cpu.time=503844000
  cpu.user=349476000
  cpu.system=154368000
  balloon.current=131072
  balloon.maximum=131072
  balloon.last-update=0
  balloon.rss=43028
  vcpu.current=2
  vcpu.maximum=2
  vcpu.0.state=1
  vcpu.0.time=250000000
  vcpu.0.wait=0
  vcpu.0.delay=15903599
  vcpu.1.state=1
  vcpu.1.time=10000000
  vcpu.1.wait=0
  vcpu.1.delay=1000
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

`;

describe('parseDomStats', () => {
  it('reads each domain\'s cpu, vcpus, balloon, summed vCPU delay and per-device byte counters', () => {
    const [a, b, ...rest] = parseDomStats(RECORDED);
    assert.equal(rest.length, 0);
    assert.equal(a!.name, 'nct-13955-1-b5cba4');
    assert.equal(a!.state, 1);
    assert.equal(a!.cpuTimeNs, 5202967000);
    assert.equal(a!.vcpus, 1);
    assert.deepEqual(a!.balloon, { current: 65536, maximum: 65536, unused: undefined, available: undefined, usable: undefined, rss: 44592 });
    assert.equal(a!.vcpuDelayNs, 678443675);
    assert.deepEqual([...a!.net], [['vnet0', { inBytes: 586, outBytes: 1676 }]]);
    assert.deepEqual([...a!.block], [['hdc', { inBytes: 0, outBytes: 0 }]]);

    assert.equal(b!.state, 3);
    assert.equal(b!.vcpus, 2);
    assert.equal(b!.vcpuDelayNs, 15903599 + 1000);
    assert.equal(b!.net.size, 0, 'a NIC without figures adds nothing');
    assert.deepEqual(b!.block.get('hdc'), { inBytes: 4096, outBytes: 0 });
  });

  it('no vcpu.N.delay (older kernels / libvirt) leaves the delay unknown; no domains is an empty list', () => {
    const [d] = parseDomStats(RECORDED.split('\n').filter((l) => !l.includes('.delay=')).join('\n'));
    assert.equal(d!.vcpuDelayNs, undefined);
    assert.deepEqual(parseDomStats(''), []);
  });

  it('output it does not understand is LIBVIRT_OUTPUT_UNEXPECTED', () => {
    assert.throws(() => parseDomStats('Domaine: « x »\n  a=1\n'), (e) => hasCode(e, 'LIBVIRT_OUTPUT_UNEXPECTED'));
  });
});

describe('domainMemory', () => {
  // Fields a guest with a virtio-balloon driver reports once a stats period is set (libvirt's
  // documented balloon.* names; values composed: 1 GiB guest, 300 MiB free, 700 MiB usable).
  const withDriver = { current: 1048576, maximum: 2097152, unused: 307200, available: 1000000, usable: 716800, rss: 1040000 };

  it('with guest stats: available − usable (cache is not "used"), total = current allocation', () => {
    assert.deepEqual(domainMemory(withDriver), { usedBytes: (1000000 - 716800) * 1024, totalBytes: 1048576 * 1024 });
  });
  it('with only unused: current − unused', () => {
    assert.equal(domainMemory({ current: 1048576, unused: 307200, rss: 1040000 })!.usedBytes, (1048576 - 307200) * 1024);
  });
  it('without a driver: the QEMU process\'s rss, never above the allocation', () => {
    assert.equal(domainMemory({ current: 65536, maximum: 65536, rss: 44592 })!.usedBytes, 44592 * 1024);
    assert.equal(domainMemory({ current: 65536, rss: 90000 })!.usedBytes, 65536 * 1024);
  });
  it('nothing but the allocation: all of it; no allocation: unknown', () => {
    assert.equal(domainMemory({ current: 65536 })!.usedBytes, 65536 * 1024);
    assert.equal(domainMemory({}), undefined);
  });
});

describe('VirshDomainReader (a stand-in virsh script: exit codes and stderr as virsh prints them)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'agent-virsh-'));
  after(() => rm(dir, { recursive: true, force: true }));

  async function fakeVirsh(body: string): Promise<string> {
    const file = join(dir, `virsh-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  it('passes the URI and the stats groups, parses stdout, stamps the read', async () => {
    const record = join(dir, 'args');
    const virsh = await fakeVirsh(`echo "$@" > ${record}\ncat <<'EOF'\n${RECORDED}EOF`);
    const read = await new VirshDomainReader('qemu+ssh://h1/system', 5_000, virsh).read();
    assert.deepEqual(read.domains.map((d) => d.name), ['nct-13955-1-b5cba4', 'rich1']);
    assert.ok(read.atMs > 0);
    const { readFile } = await import('node:fs/promises');
    assert.equal((await readFile(record, 'utf8')).trim(), ['-c', 'qemu+ssh://h1/system', ...DOMSTATS_ARGS].join(' '));
  });

  it('a daemon that is not there: AGENT_LIBVIRT_UNREACHABLE naming the URI and what to check', async () => {
    const virsh = await fakeVirsh(`echo "error: failed to connect to the hypervisor" >&2\necho "error: Failed to connect socket to '/tmp/nope': No such file or directory" >&2\nexit 1`);
    await assert.rejects(new VirshDomainReader('qemu+unix:///system?socket=/tmp/nope', 5_000, virsh).read(), (e) =>
      hasCode(e, 'AGENT_LIBVIRT_UNREACHABLE') && e.retriable && e.message.includes('qemu+unix:///system?socket=/tmp/nope') && /libvirtd/.test(e.message) && /No such file/.test(e.message));
  });

  it('other failures, hangs and a missing virsh each have their own code', async () => {
    const failing = await fakeVirsh('echo "error: operation failed: domain is being migrated" >&2\nexit 1');
    await assert.rejects(new VirshDomainReader('qemu:///system', 5_000, failing).read(), (e) => hasCode(e, 'AGENT_LIBVIRT_READ_FAILED') && /being migrated/.test(e.message));
    const hanging = await fakeVirsh('exec sleep 30');
    await assert.rejects(new VirshDomainReader('qemu:///system', 300, hanging).read(), (e) => hasCode(e, 'AGENT_LIBVIRT_TIMEOUT'));
    await assert.rejects(new VirshDomainReader('qemu:///system', 5_000, join(dir, 'no-such-virsh')).read(), (e) => hasCode(e, 'AGENT_VIRSH_MISSING') && !e.retriable);
  });
});
