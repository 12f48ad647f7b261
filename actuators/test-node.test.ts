import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasCode } from '../core/index.ts';
import { testNodeXml, writeTestNode } from './test-node.ts';
import { VirshHypervisor } from './virsh.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('writeTestNode', () => {
  let dir = '';
  before(async () => {
    // A space in the path: the URI must be percent-encoded for libvirt to find the file.
    dir = await mkdtemp(join(tmpdir(), 'novacron test-node-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a node and its domains through real virsh', async () => {
    const tricky = `a&b <'q'> "x"`;
    const uri = await writeTestNode(dir, { hostId: 'kvm-01', cpus: 6, memBytes: 12 * GiB }, [
      { name: 'web-1', vcpus: 2, memBytes: 2 * GiB, running: true },
      { name: tricky, vcpus: 1, memBytes: 512 * MiB, running: true },
      { name: 'cold', vcpus: 4, memBytes: 1 * GiB, running: false },
    ]);
    assert.match(uri, /^test:\/\/\/.*kvm-01\.xml$/);
    assert.equal(fileURLToPath(`file://${uri.slice('test://'.length)}`), join(dir, 'kvm-01.xml'));

    const h = new VirshHypervisor(uri);
    assert.deepEqual(await h.nodeInfo(), { cpus: 6, memoryBytes: 12 * GiB });
    const byName = (await h.listDomains()).sort((x, y) => x.name.localeCompare(y.name));
    assert.deepEqual(byName, [
      { name: tricky, state: 'running', vcpus: 1, memoryBytes: 512 * MiB },
      { name: 'cold', state: 'shut off', vcpus: 4, memoryBytes: 1 * GiB },
      { name: 'web-1', state: 'running', vcpus: 2, memoryBytes: 2 * GiB },
    ].sort((x, y) => x.name.localeCompare(y.name)));

    const xml = await readFile(join(dir, 'kvm-01.xml'), 'utf8');
    assert.ok(xml.includes('<name>a&amp;b &lt;&apos;q&apos;&gt; &quot;x&quot;</name>'));
  });

  it('describes an empty host', async () => {
    const h = new VirshHypervisor(await writeTestNode(dir, { hostId: 'empty', cpus: 1, memBytes: GiB }, []));
    assert.deepEqual(await h.listDomains(), []);
    assert.deepEqual(await h.nodeInfo(), { cpus: 1, memoryBytes: GiB });
  });

  it('rejects invalid input with stable codes', async () => {
    assert.throws(() => testNodeXml({ hostId: 'h', cpus: 0, memBytes: GiB }, []), (e) => hasCode(e, 'TEST_NODE_INVALID'));
    const twice = { name: 'x', vcpus: 1, memBytes: MiB, running: true };
    assert.throws(() => testNodeXml({ hostId: 'h', cpus: 1, memBytes: GiB }, [twice, twice]), (e) => hasCode(e, 'TEST_NODE_INVALID'));
    await assert.rejects(writeTestNode(dir, { hostId: '../escape', cpus: 1, memBytes: GiB }, []), (e) => hasCode(e, 'HYPERVISOR_HOST_INVALID'));
  });
});
