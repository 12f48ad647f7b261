import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { hasCode } from '../core/index.ts';
import { LibvirtHostPower } from './host-power-libvirt.ts';
import { UriTemplateDirectory } from './hypervisor.ts';
import { writeTestNode } from './test-node.ts';
import { VirshHypervisor } from './virsh.ts';

const GiB = 2 ** 30;

describe('LibvirtHostPower against libvirt test-driver hosts', () => {
  let dir = '';
  let directory: UriTemplateDirectory;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'novacron-host-power-'));
    directory = new UriTemplateDirectory(`test://${pathToFileURL(dir).pathname}/{host}.xml`, (uri) => new VirshHypervisor(uri));
    await writeTestNode(dir, { hostId: 'busy', cpus: 4, memBytes: 8 * GiB }, [
      { name: 'web', vcpus: 1, memBytes: GiB, running: true },
      { name: 'old', vcpus: 1, memBytes: GiB, running: false },
    ]);
    await writeTestNode(dir, { hostId: 'empty', cpus: 4, memBytes: 8 * GiB }, [{ name: 'old', vcpus: 1, memBytes: GiB, running: false }]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('marks an empty host off and on again', async () => {
    const power = new LibvirtHostPower(directory);
    assert.equal(await power.state('empty'), 'on');
    await power.powerOff('empty'); // a shut-off domain holds no memory
    assert.equal(await power.state('empty'), 'off');
    await power.powerOn('empty');
    assert.equal(await power.state('empty'), 'on');
  });

  it('refuses to power off a host that still runs a domain', async () => {
    const power = new LibvirtHostPower(directory);
    await assert.rejects(power.powerOff('busy'), (e) => {
      assert.ok(hasCode(e, 'HOST_POWER_HOST_BUSY'));
      assert.equal(e.retriable, false);
      assert.match(e.message, /still runs web \(running\)/);
      return true;
    });
    assert.equal(await power.state('busy'), 'on');
  });

  it('says unknown for a host whose libvirtd does not answer, and cannot switch it', async () => {
    const power = new LibvirtHostPower(directory);
    assert.equal(await power.state('gone'), 'unknown');
    await assert.rejects(power.powerOff('gone'), (e) => hasCode(e, 'HOST_POWER_UNREACHABLE') && e.retriable);
    await assert.rejects(power.powerOn('gone'), (e) => hasCode(e, 'HOST_POWER_UNREACHABLE') && e.retriable);
  });

  it('rejects a host id no URI can be made from', async () => {
    const power = new LibvirtHostPower(directory);
    await assert.rejects(power.state('../etc?x'), (e) => hasCode(e, 'HOST_POWER_UNKNOWN_HOST'));
  });

  it('keeps the marks in its state file across instances', async () => {
    const stateFile = join(dir, 'state', 'power.json');
    await new LibvirtHostPower(directory, { stateFile }).powerOff('empty');
    assert.deepEqual(JSON.parse(await readFile(stateFile, 'utf8')), { off: ['empty'] });
    const again = new LibvirtHostPower(directory, { stateFile });
    assert.equal(await again.state('empty'), 'off');
    await again.powerOn('empty');
    assert.equal(await new LibvirtHostPower(directory, { stateFile }).state('empty'), 'on');
    await writeFile(stateFile, '{not json');
    await assert.rejects(new LibvirtHostPower(directory, { stateFile }).state('empty'), (e) => hasCode(e, 'HOST_POWER_STATE_INVALID'));
  });
});
