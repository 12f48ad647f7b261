import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../core/index.ts';
import { countedDisk, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, readHostObservation, type ProcfsIo } from './procfs.ts';

// Recorded on a 2-CPU Debian 12 VM (kernel 6.x), trimmed to the lines the parsers read plus neighbours.
const PROC_STAT = `cpu  29876 0 7098 77019 624 0 138 60 0 0
cpu0 13977 0 3208 40055 104 0 31 30 0 0
cpu1 15899 0 3890 36963 520 0 107 29 0 0
intr 1189062 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 3971514
btime 1796303695
processes 20151
procs_running 5
procs_blocked 0
softirq 296475 0 33652 10 18504 112073 0 5 58627 0 73604
`;

const MEMINFO = `MemTotal:       24683664 kB
MemFree:        19581164 kB
MemAvailable:   21971740 kB
Buffers:           33720 kB
Cached:          2505048 kB
SwapCached:            0 kB
Active:           884672 kB
Inactive:        3698508 kB
SReclaimable:     121000 kB
HugePages_Total:       0
`;

const LOADAVG = '0.85 0.50 0.22 2/331 13642\n';

// A host with a bridge (virbr0) and a guest's tap (vnet0) besides its uplink.
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  104941    1322    0    0    0     0          0         0   104941    1322    0    0    0     0       0          0
  eth0: 302794337    8187    0    0    0     0          0         0   742050    5558    0    0    0     0       0          0
virbr0:    5000      40    0    0    0     0          0         0     6000      50    0    0    0     0       0          0
 vnet0:     586       7    0    0    0     0          0         0     1676       8    0    0    0     0       0          0
`;

// loop and zram as recorded; sda1/sda2 and dm-0 added: a partitioned disk under LVM.
const DISKSTATS = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 78950 12837 3274778 24839 41831 78082 7265360 52376 0 13100 80244 11300 30 1954384 1182 9199 1845
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   8       0 sda 1000 0 8000 10 500 0 4000 5 0 15 15 0 0 0 0 0 0
   8       1 sda1 600 0 4800 6 300 0 2400 3 0 9 9 0 0 0 0 0 0
   8       2 sda2 400 0 3200 4 200 0 1600 2 0 6 6 0 0 0 0 0 0
 252       0 dm-0 400 0 3200 4 200 0 1600 2 0 6 6 0 0 0 0 0 0
`;

describe('procfs parsers', () => {
  it('/proc/stat: the aggregate line field by field, and the online CPU count', () => {
    const s = parseProcStat(PROC_STAT);
    assert.deepEqual(s.total, { user: 29876, nice: 0, system: 7098, idle: 77019, iowait: 624, irq: 0, softirq: 138, steal: 60 });
    assert.equal(s.cpus, 2);
    assert.throws(() => parseProcStat('intr 1 2 3\n'), (e) => hasCode(e, 'AGENT_PROCFS_UNPARSABLE'));
  });

  it('/proc/meminfo: kB into bytes; without MemAvailable, free + buffers + cache + reclaimable slab', () => {
    assert.deepEqual(parseMeminfo(MEMINFO), { memTotalBytes: 24683664 * 1024, memAvailableBytes: 21971740 * 1024 });
    const old = MEMINFO.split('\n').filter((l) => !l.startsWith('MemAvailable')).join('\n');
    assert.equal(parseMeminfo(old).memAvailableBytes, (19581164 + 33720 + 2505048 + 121000) * 1024);
    assert.throws(() => parseMeminfo('MemFree: 1 kB\n'), (e) => hasCode(e, 'AGENT_PROCFS_UNPARSABLE'));
  });

  it('/proc/loadavg', () => {
    assert.deepEqual(parseLoadavg(LOADAVG), { load1: 0.85, load5: 0.5, load15: 0.22 });
    assert.throws(() => parseLoadavg('x y'), (e) => hasCode(e, 'AGENT_PROCFS_UNPARSABLE'));
  });

  it('/proc/net/dev: received and transmitted bytes per interface, headers skipped', () => {
    const net = parseNetDev(NET_DEV);
    assert.deepEqual([...net.keys()], ['lo', 'eth0', 'virbr0', 'vnet0']);
    assert.deepEqual(net.get('eth0'), { inBytes: 302794337, outBytes: 742050 });
    assert.deepEqual(net.get('vnet0'), { inBytes: 586, outBytes: 1676 });
  });

  it('/proc/diskstats: whole disks only, 512-byte sectors, stacked and memory devices left out', () => {
    const byName = parseDiskstats(DISKSTATS);
    assert.deepEqual([...byName.keys()], ['vda', 'sda']);
    assert.deepEqual(byName.get('vda'), { inBytes: 3274778 * 512, outBytes: 7265360 * 512 });
    // With /sys/block known, its list decides what a whole disk is.
    assert.deepEqual([...parseDiskstats(DISKSTATS, new Set(['vda', 'loop0', 'zram0', 'dm-0'])).keys()], ['vda']);
    assert.equal(countedDisk('nvme0n1', null), true);
    assert.equal(countedDisk('nvme0n1p2', null), false);
    assert.equal(countedDisk('mmcblk0p1', null), false);
    assert.equal(countedDisk('md127', null), false);
  });
});

/** Recorded files behind the ProcfsIo port, with a /sys that knows one bridge and the whole disks. */
function fakeProcfs(files: Record<string, string>, sys: { bridges?: string[]; blocks?: string[] } = {}): ProcfsIo {
  return {
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    list: async (path) => {
      if (path === '/sys/block' && sys.blocks) return sys.blocks;
      throw new Error(`ENOENT: ${path}`);
    },
    exists: async (path) => (sys.bridges ?? []).some((b) => path === `/sys/class/net/${b}/bridge`),
  };
}

const PROC_FILES = { '/proc/stat': PROC_STAT, '/proc/meminfo': MEMINFO, '/proc/loadavg': LOADAVG, '/proc/net/dev': NET_DEV, '/proc/diskstats': DISKSTATS };

describe('readHostObservation', () => {
  it('reads all five files, notes bridges from /sys/class/net and whole disks from /sys/block', async () => {
    const obs = await readHostObservation(fakeProcfs(PROC_FILES, { bridges: ['virbr0'], blocks: ['vda', 'sda', 'loop0'] }));
    assert.equal(obs.cpu.cpus, 2);
    assert.equal(obs.memTotalBytes, 24683664 * 1024);
    assert.deepEqual([...obs.bridges], ['virbr0']);
    assert.deepEqual([...obs.disk.keys()], ['vda', 'sda']);
    assert.equal(obs.load.load15, 0.22);
    assert.ok(obs.atMs > 0);
  });

  it('a missing file is AGENT_PROCFS_UNREADABLE, retriable, naming what it needs', async () => {
    const { ['/proc/diskstats']: _, ...rest } = PROC_FILES;
    await assert.rejects(readHostObservation(fakeProcfs(rest)), (e) => hasCode(e, 'AGENT_PROCFS_UNREADABLE') && e.retriable && /\/proc/.test(e.message));
  });

  it('reads this machine\'s real procfs when it is Linux', { skip: process.platform !== 'linux' && 'not Linux' }, async () => {
    const obs = await readHostObservation();
    assert.ok(obs.cpu.cpus >= 1);
    assert.ok(obs.memAvailableBytes > 0 && obs.memAvailableBytes <= obs.memTotalBytes);
    assert.ok(obs.net.size >= 1);
  });
});
