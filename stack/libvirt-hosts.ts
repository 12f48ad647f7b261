// Two real libvirt "hosts" on this machine, for integration tests of the Hypervisor port
// (../shared/docs/real-hypervisors.md): host A is the system libvirtd (qemu:///system), host B
// a second libvirtd in its own mount namespace with its own run/state/config dirs and host UUID.
// Guests are tiny diskless QEMU (TCG) machines that boot SeaBIOS and idle.
//
// Sharing and concurrency: every test process that calls acquireRealHosts() takes a lease in
// one state file (/tmp/novacron-real-hosts/state.json) under an flock(1) lock, so two test
// files starting at once never start two daemons for the same host: the first starts what is
// missing, later ones reuse it, and the last lease to go stops the daemons that were started
// here (never a daemon it found running). The lock is held by a child `flock` process whose
// stdin is our pipe, so a test process that dies releases it; a lease whose process is gone
// is dropped by the next acquire, along with the guests it left (names carry the pid).

import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, constants, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { isAlive, xmlEscape } from '../core/index.ts';

const run = promisify(execFile);

/** Where the shared state lives; /tmp so that host B (whose /run is its own tmpfs) sees it too. */
export const REAL_HOSTS_DIR = join(tmpdir(), 'novacron-real-hosts');
const STATE_FILE = join(REAL_HOSTS_DIR, 'state.json');
const LOCK_FILE = join(REAL_HOSTS_DIR, 'lock');
const HOST_B_DIR = join(REAL_HOSTS_DIR, 'hostb');
const FILL_FILE = join(REAL_HOSTS_DIR, 'fill-32MiB.bin');
/** Guests made here are named `nct-<pid>-…`; the pid tells whether their owner is still alive. */
const GUEST_PREFIX = 'nct-';

export const HOST_A_URI = 'qemu:///system';
export const HOST_B_URI = `qemu+unix:///system?socket=${HOST_B_DIR}/run/libvirt-sock`;

/** The Debian packages the real hosts need (installed by `./novacron test` when root). */
export const REAL_HOST_PACKAGES = ['libvirt-daemon', 'libvirt-daemon-driver-qemu', 'qemu-system-x86', 'libvirt-clients'];
const INSTALL_HINT = `run ./novacron test (as root on Debian/Ubuntu it installs them), or: apt-get install --no-install-recommends ${REAL_HOST_PACKAGES.join(' ')}`;

interface Daemon {
  pid: number;
  /** The program, checked against /proc/<pid>/cmdline before a signal is sent (pids get reused). */
  program: 'libvirtd' | 'virtlogd';
}

interface State {
  /** pids of the test processes holding a lease. */
  users: number[];
  /** Daemons of host A that were started here (empty when the system's were already running). */
  startedA: Daemon[];
  /** Host B's daemons (always started here) and its host UUID. */
  hostB?: { uuid: string; daemons: Daemon[] };
}

/** A guest booted by {@link RealHosts.bootGuest}. */
export interface GuestOptions {
  /** Defined (persistent) and started, rather than created transient. Default true. */
  persistent?: boolean;
  /** MiB of guest RAM; default 64. */
  memoryMiB?: number;
  /**
   * Loads 32 MiB of random bytes into guest RAM, so a migration has real data to copy (zero pages
   * cost nothing): with a bandwidth cap of 1 MiB/s it runs for about 30 s, long enough to abort.
   */
  filled?: boolean;
  /** A tap NIC (type 'ethernet', no bridge), so net.* stats have figures. Not for guests that migrate. */
  nic?: boolean;
}

export interface RealHosts {
  uriA: string;
  uriB: string;
  /** The address migrations send memory over (both hosts share the loopback). */
  migrateUri: string;
  /** Boots a uniquely named guest on host A and returns its name; teardown destroys it wherever it is. */
  bootGuest(options?: GuestOptions): Promise<string>;
  /**
   * Defines (without starting) a different domain of the same name on host B, so B refuses a
   * migration of that guest ("already exists with uuid …"); teardown, or the returned call, removes it.
   */
  defineDecoyOnB(name: string): Promise<() => Promise<void>>;
  /** Destroys (and undefines) this process's guests on both hosts; the last lease stops the daemons started here. */
  teardown(): Promise<void>;
}

/** Why real hosts cannot be set up on this machine, or null when they can be tried. */
export async function realHostsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `real libvirt hosts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'real libvirt hosts need root (libvirtd, mount namespaces); run the tests as root';
  const missing: string[] = [];
  for (const program of ['libvirtd', 'virtlogd', 'virsh', 'qemu-system-x86_64', 'unshare', 'flock']) {
    if (!(await onPath(program))) missing.push(program);
  }
  if (!(await exists('/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so')) && !(await exists('/usr/lib64/libvirt/connection-driver/libvirt_driver_qemu.so'))) {
    missing.push("libvirt's QEMU driver");
  }
  return missing.length === 0 ? null : `missing ${missing.join(', ')}: ${INSTALL_HINT}`;
}

/**
 * Sets up (or joins) the two hosts. Resolves to the hosts, or to `{ skip }` with the reason when
 * this machine cannot have them; under CI=true that case throws instead, so CI never skips.
 */
export async function acquireRealHosts(): Promise<RealHosts | { skip: string }> {
  const unavailable = await realHostsUnavailable();
  if (unavailable !== null) {
    if (process.env['CI'] === 'true') throw new Error(`real-hosts setup impossible in CI: ${unavailable}`);
    return { skip: unavailable };
  }
  await mkdir(REAL_HOSTS_DIR, { recursive: true });
  await withLock(async () => {
    const state = await loadState();
    state.users = state.users.filter(isAlive);
    await prepareMachine();
    await ensureHostA(state);
    await ensureHostB(state);
    await removeOrphanGuests();
    state.users.push(process.pid);
    await saveState(state);
  });

  const mine = new Set<string>();
  let counter = 0;
  let tornDown = false;
  return {
    uriA: HOST_A_URI,
    uriB: HOST_B_URI,
    migrateUri: 'tcp://127.0.0.1',
    async bootGuest(options = {}) {
      if (tornDown) throw new Error('real hosts already torn down');
      const name = `${GUEST_PREFIX}${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
      mine.add(name);
      if (options.filled) await ensureFillFile();
      const xml = guestXml(name, options);
      const file = join(REAL_HOSTS_DIR, `${name}.xml`);
      await writeFile(file, xml);
      try {
        if (options.persistent ?? true) {
          await virsh(HOST_A_URI, 'define', '--file', file);
          await virsh(HOST_A_URI, 'start', '--domain', name);
        } else {
          await virsh(HOST_A_URI, 'create', '--file', file);
        }
      } finally {
        await rm(file, { force: true });
      }
      return name;
    },
    async defineDecoyOnB(name) {
      if (!mine.has(name)) throw new Error(`${name} is not a guest of this process`);
      const file = join(REAL_HOSTS_DIR, `${name}.decoy.xml`);
      await writeFile(file, guestXml(name, {}));
      try {
        await virsh(HOST_B_URI, 'define', '--file', file);
      } finally {
        await rm(file, { force: true });
      }
      return () => removeGuest(HOST_B_URI, name);
    },
    async teardown() {
      if (tornDown) return;
      tornDown = true;
      await withLock(async () => {
        for (const uri of [HOST_A_URI, HOST_B_URI]) {
          for (const name of mine) await removeGuest(uri, name);
        }
        const state = await loadState();
        state.users = state.users.filter((pid) => pid !== process.pid && isAlive(pid));
        if (state.users.length === 0) await stopStartedDaemons(state);
        await saveState(state);
      });
    },
  };
}

function guestXml(name: string, options: GuestOptions): string {
  const mem = options.memoryMiB ?? 64;
  const qemuNs = options.filled ? ` xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'` : '';
  // QEMU's generic loader writes the file into guest RAM at 16 MiB before the CPU starts.
  const fill = options.filled
    ? `\n  <qemu:commandline><qemu:arg value='-device'/><qemu:arg value='loader,file=${xmlEscape(FILL_FILE)},addr=0x1000000,force-raw=on'/></qemu:commandline>`
    : '';
  // Two vCPUs possible, one online (so setVcpus can hot-plug); an empty CD-ROM gives block stats.
  return `<domain type='qemu'${qemuNs}>
  <name>${xmlEscape(name)}</name>
  <memory unit='MiB'>${mem}</memory>
  <currentMemory unit='MiB'>${mem}</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <console type='pty'/>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>${options.nic ? "\n    <interface type='ethernet'><model type='e1000'/></interface>" : ''}
    <memballoon model='virtio'/>
  </devices>${fill}
</domain>
`;
}

async function ensureFillFile(): Promise<void> {
  if (await exists(FILL_FILE)) return;
  const tmp = `${FILL_FILE}.${process.pid}`;
  await writeFile(tmp, randomBytes(32 * 2 ** 20));
  await run('mv', ['-f', tmp, FILL_FILE]);
}

/** Once per machine (idempotent): what libvirt's Debian packages without their systemd units leave out. */
async function prepareMachine(): Promise<void> {
  for (const group of ['kvm', 'libvirt-qemu']) {
    if (!(await succeeds('getent', ['group', group]))) await run('groupadd', ['-r', group]);
  }
  if (!(await succeeds('id', ['libvirt-qemu']))) await run('useradd', ['-r', '-g', 'libvirt-qemu', 'libvirt-qemu']);
  await mkdir('/etc/libvirt', { recursive: true });
  // Guests run as root so they can read files anywhere (the fill file); only written when absent,
  // so a machine's own qemu.conf is left alone.
  if (!(await exists('/etc/libvirt/qemu.conf'))) await writeFile('/etc/libvirt/qemu.conf', 'user = "root"\ngroup = "root"\n');
  for (const dir of ['/var/log/libvirt', '/var/lib/libvirt/qemu', '/var/cache/libvirt']) await mkdir(dir, { recursive: true });
}

async function ensureHostA(state: State): Promise<void> {
  state.startedA = state.startedA.filter(isDaemon);
  if (await answers(HOST_A_URI)) return;
  // Not answering: start what is missing (the system's virtlogd may run without libvirtd).
  if (!(await exists('/run/libvirt/virtlogd-sock'))) {
    await run('virtlogd', ['-d']);
    const pid = await readPid('/run/virtlogd.pid');
    if (pid !== null) state.startedA.push({ pid, program: 'virtlogd' });
  }
  await run('libvirtd', ['-d']);
  const pid = await readPid('/run/libvirtd.pid');
  if (pid !== null) state.startedA.push({ pid, program: 'libvirtd' });
  await waitUntilAnswers(HOST_A_URI);
}

// Host B's mounts, from the recipe: its own /run (tmpfs) with run/ bound on /run/libvirt, and its
// own /var/lib/libvirt, /var/log/libvirt, /etc/libvirt and /var/cache/libvirt. The daemons fork
// away (-d) and keep the namespace alive; their pid files sit in $B, visible from outside.
const HOST_B_SCRIPT = `set -e
B="$1"
mount -t tmpfs tmpfs /run; mkdir -p /run/libvirt
mount --bind "$B/run" /run/libvirt
mount --bind "$B/lib" /var/lib/libvirt; mkdir -p /var/lib/libvirt/qemu
mount --bind "$B/log" /var/log/libvirt
mount --bind "$B/etc" /etc/libvirt
mount --bind "$B/cache" /var/cache/libvirt
virtlogd -d -p "$B/virtlogd.pid"
libvirtd -d -p "$B/libvirtd.pid"`;

async function ensureHostB(state: State): Promise<void> {
  if (state.hostB && state.hostB.daemons.every(isDaemon) && (await answers(HOST_B_URI))) return;
  // Half-dead leftovers (a daemon gone, or not answering): stop what is left and start afresh.
  if (state.hostB) await stopDaemons(state.hostB.daemons);
  const uuid = state.hostB?.uuid ?? randomUUID();
  await rm(join(HOST_B_DIR, 'etc'), { recursive: true, force: true });
  await rm(join(HOST_B_DIR, 'run'), { recursive: true, force: true });
  for (const sub of ['run', 'lib', 'log', 'etc', 'cache']) await mkdir(join(HOST_B_DIR, sub), { recursive: true });
  // The daemon's config, not host A's domain and network definitions (etc/libvirt/qemu/).
  await cp('/etc/libvirt', join(HOST_B_DIR, 'etc'), { recursive: true, filter: (src) => src !== '/etc/libvirt/qemu' && !src.startsWith('/etc/libvirt/qemu/') });
  const etc = join(HOST_B_DIR, 'etc');
  // libvirt refuses to migrate to a host with its own UUID; B also takes other incoming
  // migration ports than A, so moves in both directions at once cannot pick the same port.
  await writeFile(join(etc, 'libvirtd.conf'), `${await readFile(join(etc, 'libvirtd.conf'), 'utf8').catch(() => '')}\nhost_uuid = "${uuid}"\n`);
  await writeFile(join(etc, 'qemu.conf'), `${await readFile(join(etc, 'qemu.conf'), 'utf8').catch(() => '')}\nmigration_port_min = 49216\nmigration_port_max = 49279\n`);
  state.hostB = { uuid, daemons: [] };
  await run('unshare', ['-m', '--propagation', 'private', 'bash', '-c', HOST_B_SCRIPT, 'bash', HOST_B_DIR]);
  for (const program of ['virtlogd', 'libvirtd'] as const) {
    const pid = await readPid(join(HOST_B_DIR, `${program}.pid`));
    if (pid === null) throw new Error(`host B's ${program} wrote no pid file in ${HOST_B_DIR}`);
    state.hostB.daemons.push({ pid, program });
  }
  await waitUntilAnswers(HOST_B_URI);
}

/** Guests of test processes that are gone (crashed or killed before their teardown). */
async function removeOrphanGuests(): Promise<void> {
  for (const uri of [HOST_A_URI, HOST_B_URI]) {
    const names = (await virsh(uri, 'list', '--all', '--name')).split('\n').map((n) => n.trim()).filter((n) => n.startsWith(GUEST_PREFIX));
    for (const name of names) {
      const pid = Number(/^nct-(\d+)-/.exec(name)?.[1] ?? 0);
      if (pid > 0 && !isAlive(pid)) await removeGuest(uri, name);
    }
  }
}

async function removeGuest(uri: string, name: string): Promise<void> {
  await virsh(uri, 'destroy', '--domain', name).catch(() => undefined);
  await virsh(uri, 'undefine', '--domain', name).catch(() => undefined);
}

async function stopStartedDaemons(state: State): Promise<void> {
  if (state.hostB) {
    // qemu outlives libvirtd: every guest on B (all made here) goes first.
    const names = await virsh(HOST_B_URI, 'list', '--all', '--name').catch(() => '');
    for (const name of names.split('\n').map((n) => n.trim()).filter(Boolean)) await removeGuest(HOST_B_URI, name);
    await stopDaemons(state.hostB.daemons);
    state.hostB = { uuid: state.hostB.uuid, daemons: [] };
  }
  await stopDaemons(state.startedA);
  state.startedA = [];
}

async function stopDaemons(daemons: Daemon[]): Promise<void> {
  // libvirtd before virtlogd, which it talks to.
  for (const d of [...daemons].sort((x, y) => (x.program === 'libvirtd' ? -1 : 0) - (y.program === 'libvirtd' ? -1 : 0))) {
    if (!isDaemon(d)) continue;
    process.kill(d.pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(d.pid); i++) await sleep(100);
    if (isAlive(d.pid)) process.kill(d.pid, 'SIGKILL');
  }
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  // flock holds the lock while `cat` waits on our pipe: released on our exit, even a crash.
  const child = spawn('flock', ['--exclusive', '--timeout', '300', LOCK_FILE, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`could not lock ${LOCK_FILE} (flock exit ${code}): ${stderr.trim() || 'another test held it for 300 s'}`)));
    child.once('error', reject);
  });
  try {
    return await fn();
  } finally {
    child.stdin.end();
  }
}

async function loadState(): Promise<State> {
  try {
    const s = JSON.parse(await readFile(STATE_FILE, 'utf8')) as Partial<State>;
    return { users: s.users ?? [], startedA: s.startedA ?? [], ...(s.hostB ? { hostB: s.hostB } : {}) };
  } catch {
    return { users: [], startedA: [] };
  }
}

async function saveState(state: State): Promise<void> {
  await writeFile(`${STATE_FILE}.tmp`, JSON.stringify(state, null, 2));
  await run('mv', ['-f', `${STATE_FILE}.tmp`, STATE_FILE]);
}

function virsh(uri: string, ...args: string[]): Promise<string> {
  return run('virsh', ['-c', uri, ...args], { timeout: 60_000, env: { ...process.env, LC_ALL: 'C' } }).then((r) => r.stdout);
}

async function answers(uri: string): Promise<boolean> {
  return run('virsh', ['-c', uri, 'version'], { timeout: 10_000 }).then(() => true, () => false);
}

async function waitUntilAnswers(uri: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await answers(uri)) return;
    await sleep(100);
  }
  throw new Error(`libvirtd at ${uri} did not answer within 30 s of being started (see /var/log/libvirt or ${HOST_B_DIR}/log)`);
}

async function readPid(file: string): Promise<number | null> {
  for (let i = 0; i < 50; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (/^\d+\s*$/.test(text)) return Number(text);
    await sleep(100);
  }
  return null;
}

/** True while the recorded pid is still that daemon (pids get reused). Synchronous: a tiny procfs read, used in filters. */
function isDaemon(d: Daemon): boolean {
  try {
    return readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(d.program);
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file, constants.F_OK).then(() => true, () => false);
}

async function onPath(program: string): Promise<boolean> {
  return succeeds('sh', ['-c', `command -v ${program}`]);
}

async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  return run(cmd, args).then(() => true, () => false);
}
