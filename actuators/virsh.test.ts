import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasCode } from '../core/index.ts';
import { VirshHypervisor } from './virsh.ts';

// Real virsh, libvirt's built-in test driver: test:///default has one running domain `test`.
const GiB = 2 ** 30;

describe('VirshHypervisor against test:///default', () => {
  const h = new VirshHypervisor('test:///default');

  it('parses nodeinfo', async () => {
    assert.deepEqual(await h.nodeInfo(), { cpus: 16, memoryBytes: 3145728 * 1024 });
  });

  it('lists domains with state, vCPUs and configured memory', async () => {
    assert.deepEqual(await h.listDomains(), [{ name: 'test', state: 'running', vcpus: 2, memoryBytes: 8 * GiB }]);
  });

  it('reports a missing domain with its own code, and a failing command with its stderr', async () => {
    await assert.rejects(h.run(['dominfo', 'no-such-domain']), (err) => {
      assert.ok(hasCode(err, 'HYPERVISOR_DOMAIN_NOT_FOUND'));
      assert.equal(err.retriable, false);
      assert.match(err.message, /failed to get domain 'no-such-domain'/);
      return true;
    });
    await assert.rejects(h.run(['start', '--domain', 'test']), (err) => {
      assert.ok(hasCode(err, 'HYPERVISOR_COMMAND_FAILED'));
      assert.equal(err.retriable, false);
      assert.match(err.message, /virsh -c test:\/\/\/default start failed: error: .*already active/);
      return true;
    });
  });
});

describe('VirshHypervisor failures', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'novacron-virsh-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says how to install virsh when the binary is missing', async () => {
    const h = new VirshHypervisor('test:///default', { virshPath: join(dir, 'no-virsh') });
    await assert.rejects(h.nodeInfo(), (err) => {
      assert.ok(hasCode(err, 'HYPERVISOR_VIRSH_MISSING'));
      assert.match(err.message, /apt-get install libvirt-clients/);
      return true;
    });
  });

  it('reports a connection that fails as unreachable and retriable', async () => {
    const h = new VirshHypervisor('test:///nonexistent/file.xml');
    await assert.rejects(h.listDomains(), (err) => {
      assert.ok(hasCode(err, 'HYPERVISOR_UNREACHABLE'));
      assert.equal(err.retriable, true);
      assert.match(err.message, /failed to connect to the hypervisor/);
      return true;
    });
  });

  it('gives up on a hung virsh after its timeout', async () => {
    const hung = join(dir, 'hung-virsh');
    await writeFile(hung, '#!/bin/sh\nexec sleep 5\n');
    await chmod(hung, 0o755);
    const started = Date.now();
    const h = new VirshHypervisor('test:///default', { virshPath: hung, timeoutMs: 200 });
    await assert.rejects(h.nodeInfo(), (err) => hasCode(err, 'HYPERVISOR_UNREACHABLE') && err.retriable);
    assert.ok(Date.now() - started < 3000);
  });

  it('stops a migrating virsh that ignores SIGINT (virsh 9.0 missing its own end) with SIGKILL, and reports the timeout', async () => {
    // Every other command is the real virsh; `migrate` behaves as the stuck virsh seen here:
    // no output, SIGINT ignored, never exits.
    const stuck = join(dir, 'stuck-migrate-virsh');
    const pidFile = join(dir, 'migrate.pid');
    await writeFile(stuck, `#!/bin/sh\ncase " $* " in *" migrate "*) echo $$ > '${pidFile}'; trap '' INT; exec sleep 600;; esac\nexec virsh "$@"\n`);
    await chmod(stuck, 0o755);
    const h = new VirshHypervisor('test:///default', { virshPath: stuck, progressIntervalMs: 100, migrationAbortGraceMs: 300 });
    const target = new VirshHypervisor('test:///default?other');
    const started = Date.now();
    await assert.rejects(h.migrate('test', target, { timeoutMs: 300 }), (err) => {
      assert.ok(hasCode(err, 'HYPERVISOR_MIGRATION_TIMEOUT'), String(err));
      assert.equal(err.details?.['sourceState'], 'running');
      return true;
    });
    const elapsed = Date.now() - started;
    // timeout 0.3 s + abort grace 0.3 s + SIGINT's 5 s before SIGKILL, and not much more.
    assert.ok(elapsed >= 5_000 && elapsed < 9_000, `returned after ${elapsed} ms`);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    assert.throws(() => process.kill(pid, 0), (e) => (e as NodeJS.ErrnoException).code === 'ESRCH');
  });
});
