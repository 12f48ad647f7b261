import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DEFAULT_POLICY, type ActionPlan, type PlannedAction } from '../scheduler/index.ts';
import { dryRunPlan, type DryRunReport } from './dry-run.ts';
import { UriTemplateDirectory, type Hypervisor, type HypervisorDirectory } from './hypervisor.ts';
import { writeTestNode } from './test-node.ts';
import { VirshHypervisor } from './virsh.ts';

const GiB = 2 ** 30;

function plan(actions: PlannedAction[]): ActionPlan {
  return { createdAt: 1_700_000_000_000, policy: DEFAULT_POLICY, actions, hostsBefore: 0, hostsAfter: 0, hostsSaved: 0, loadAfter: [], unplaced: [] };
}

function migrate(vmId: string, fromHost: string, toHost: string, gib: number): PlannedAction {
  return { kind: 'migrate', vmId, fromHost, toHost, cpuCores: 1, memBytes: gib * GiB, reason: 'test' };
}

/** Real virsh hypervisors, with a count of the calls each host receives. */
function countingDirectory(template: string): { directory: HypervisorDirectory; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const inner = new UriTemplateDirectory(template, (uri) => new VirshHypervisor(uri));
  const count = (key: string) => calls.set(key, (calls.get(key) ?? 0) + 1);
  return {
    calls,
    directory: {
      forHost(hostId: string): Hypervisor {
        const h = inner.forHost(hostId);
        return {
          uri: h.uri,
          nodeInfo: () => (count(`${hostId} nodeInfo`), h.nodeInfo()),
          listDomains: () => (count(`${hostId} listDomains`), h.listDomains()),
          // A dry run reads only; every write is counted too, so one slipping in would show.
          domain: (name) => (count(`${hostId} domain`), h.domain(name)),
          start: (name) => (count(`${hostId} start`), h.start(name)),
          shutdown: (name, timeoutMs) => (count(`${hostId} shutdown`), h.shutdown(name, timeoutMs)),
          destroy: (name) => (count(`${hostId} destroy`), h.destroy(name)),
          suspend: (name) => (count(`${hostId} suspend`), h.suspend(name)),
          resume: (name) => (count(`${hostId} resume`), h.resume(name)),
          setVcpus: (name, n) => (count(`${hostId} setVcpus`), h.setVcpus(name, n)),
          setMemory: (name, bytes) => (count(`${hostId} setMemory`), h.setMemory(name, bytes)),
          domainStats: (names) => (count(`${hostId} domainStats`), h.domainStats(names)),
          migrate: (name, target, options) => (count(`${hostId} migrate`), h.migrate(name, target, options)),
        };
      },
    },
  };
}

describe('dryRunPlan against libvirt test-driver hosts', () => {
  let dir = '';
  let template = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'novacron-dry-run-'));
    template = `test://${pathToFileURL(dir).pathname}/{host}.xml`;
    await writeTestNode(dir, { hostId: 'h1', cpus: 8, memBytes: 8 * GiB }, [
      { name: 'vm1', vcpus: 2, memBytes: 1 * GiB, running: true },
      { name: 'vm2', vcpus: 2, memBytes: 2 * GiB, running: true },
      { name: 'old', vcpus: 1, memBytes: 1 * GiB, running: false },
    ]);
    await writeTestNode(dir, { hostId: 'h2', cpus: 8, memBytes: 8 * GiB }, [
      { name: 'big', vcpus: 4, memBytes: 6 * GiB, running: true },
      { name: 'dup', vcpus: 1, memBytes: 1 * GiB, running: false },
    ]);
    await writeTestNode(dir, { hostId: 'h3', cpus: 4, memBytes: 4 * GiB }, [{ name: 'dup', vcpus: 1, memBytes: 1 * GiB, running: true }]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let report: DryRunReport;
  let calls: Map<string, number>;

  it('judges a plan action by action, in order', async () => {
    const counted = countingDirectory(template);
    calls = counted.calls;
    report = await dryRunPlan(
      plan([
        migrate('vm1', 'h1', 'h2', 1), //                      0 ok: h2 free 2 GiB
        migrate('ghost', 'h1', 'h2', 1), //                    1 blocked: not on h1
        migrate('vm2', 'h1', 'h2', 2), //                      2 blocked: h2 free 2 - 1 (vm1 arriving) = 1 GiB
        { kind: 'power-off', hostId: 'h1', reason: 'test' }, // 3 blocked: vm2 stays
        migrate('vm2', 'h1', 'h3', 2), //                      4 ok: h3 free 4 - 1 = 3 GiB
        { kind: 'power-off', hostId: 'h1', reason: 'test' }, // 5 ok
        migrate('dup', 'h3', 'h2', 1), //                      6 blocked: a 'dup' is defined on h2
        migrate('x', 'h9', 'h2', 1), //                        7 blocked: h9 has no file
        { kind: 'power-off', hostId: 'h9', reason: 'test' }, // 8 blocked: unreachable
        migrate('vm1', 'h2', 'h1', 1), //                      9 blocked: h1 powered off at #5
      ]),
      counted.directory,
    );
    assert.deepEqual(report.results.map((r) => r.status), ['ok', 'blocked', 'blocked', 'blocked', 'ok', 'ok', 'blocked', 'blocked', 'blocked', 'blocked']);
    assert.equal(report.ok, 3);
    assert.equal(report.blocked, 7);
    assert.equal(report.planCreatedAt, 1_700_000_000_000);
    assert.deepEqual(report.results.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(report.results.every((r) => (r.status === 'ok') === (r.reason === undefined)));
  });

  it('records the checks and the exact command of an ok migration', () => {
    const r = report.results[0]!;
    const h1 = `test://${pathToFileURL(dir).pathname}/h1.xml`;
    const h2 = `test://${pathToFileURL(dir).pathname}/h2.xml`;
    assert.equal(r.command, `virsh -c ${h1} migrate --live --persistent --undefinesource --domain vm1 --desturi ${h2}`);
    assert.ok(r.checks.includes('vm1 running on h1: 2 vCPUs, 1024 MiB'));
    assert.ok(r.checks.includes('vm1 not on h2'));
    assert.ok(r.checks.includes('h2 free 2048 MiB = node 8192 MiB - 1 active domains 6144 MiB - 0 earlier arrivals 0 MiB >= vm1 1024 MiB'), r.checks.join('\n'));
  });

  it('blocks a VM that is not on its source', () => {
    assert.equal(report.results[1]!.reason, 'domain ghost is not on h1');
  });

  it('blocks a move for lack of target memory, counting earlier arrivals', () => {
    assert.equal(report.results[2]!.reason, 'not enough memory on h2: h2 free 1024 MiB = node 8192 MiB - 1 active domains 6144 MiB - 1 earlier arrivals 1024 MiB < vm2 2048 MiB');
  });

  it('blocks a power-off while a VM would stay, and allows it once all have left', () => {
    assert.equal(report.results[3]!.reason, '1 active domain(s) would stay on h1: vm2 (running, its migration #2 is blocked)');
    const ok = report.results[5]!;
    assert.ok(ok.checks.includes('vm1 (running) leaves in action #0 for h2'));
    assert.ok(ok.checks.includes('vm2 (running) leaves in action #4 for h3'));
    assert.ok(ok.checks.includes('only shut-off domains stay defined on h1: old'));
    assert.match(ok.command, /^# intent: power off host h1 .*virsh -c test:\/\/\/.*h1\.xml list --name/);
  });

  it('blocks a move onto a host holding a domain of that name', () => {
    assert.equal(report.results[6]!.reason, 'a domain named dup already exists on h2 (shut off)');
  });

  it('blocks, without crashing, on an unreachable hypervisor, naming the error code', () => {
    assert.match(report.results[7]!.reason!, /^source h9 unreachable: HYPERVISOR_UNREACHABLE: /);
    assert.match(report.results[8]!.reason!, /^host h9 unreachable: HYPERVISOR_UNREACHABLE: /);
  });

  it('blocks a move onto a host the plan powers off earlier', () => {
    assert.equal(report.results[9]!.reason, 'target h1 is powered off by action #5');
  });

  it('asks each host once per dry run', () => {
    for (const [key, n] of calls) assert.equal(n, 1, key);
    assert.deepEqual([...calls.keys()].sort(), ['h1 listDomains', 'h1 nodeInfo', 'h2 listDomains', 'h2 nodeInfo', 'h3 listDomains', 'h3 nodeInfo', 'h9 listDomains']);
  });

  it('blocks a host id that cannot be put into a URI', async () => {
    const r = await dryRunPlan(plan([{ kind: 'power-off', hostId: 'h1/../h2?x=1', reason: 'test' }]), new UriTemplateDirectory(template, (uri) => new VirshHypervisor(uri)));
    assert.equal(r.blocked, 1);
    assert.match(r.results[0]!.reason!, /HYPERVISOR_HOST_INVALID/);
  });

  it('works against test:///default', async () => {
    const r = await dryRunPlan(plan([{ kind: 'power-off', hostId: 'default', reason: 'test' }]), new UriTemplateDirectory('test:///{host}', (uri) => new VirshHypervisor(uri)));
    assert.equal(r.results[0]!.reason, '1 active domain(s) would stay on default: test (running, no migration in the plan)');
    assert.equal(r.results[0]!.command, "# intent: power off host default out-of-band (libvirt cannot power off a host); precondition: `virsh -c test:///default list --name` prints nothing");
  });
});
