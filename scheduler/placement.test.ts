import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FleetSnapshot } from './types.ts';
import { PlacementState } from './placement.ts';

const GIB = 1024 ** 3;
const P80 = { cpuTargetUtilization: 0.8, memTargetUtilization: 1 };
const fleet = (): FleetSnapshot => ({
  takenAt: 0,
  hosts: [
    { hostId: 'a', cpuCores: 10, memBytes: 64 * GIB },
    { hostId: 'b', cpuCores: 10, memBytes: 64 * GIB },
    { hostId: 'c', cpuCores: 10, memBytes: 64 * GIB },
  ],
  vms: [
    { vmId: 'a1', hostId: 'a', cpuCores: 6, memBytes: 8 * GIB },
    { vmId: 'b1', hostId: 'b', cpuCores: 2, memBytes: 8 * GIB },
  ],
});

describe('PlacementState.place', () => {
  it('packs onto the running host it fits most tightly, and explains with numbers', () => {
    const d = new PlacementState(fleet(), P80).place({ vmId: 'n', cpuCores: 1.5, memBytes: GIB });
    assert.equal(d?.hostId, 'a'); // a: 6 + 1.5 of 8 target cores leaves less room than b
    assert.match(d!.reason, /predicted p90 60% → 75% of 10\.00 cores \(target 80%\)/);
  });

  it('opens an empty host only when no running host fits', () => {
    const s = new PlacementState(fleet(), P80);
    assert.equal(s.place({ vmId: 'big', cpuCores: 7, memBytes: GIB })?.hostId, 'c');
  });

  it('respects anti-affinity, maintenance and allowed hosts, and sees its own earlier decisions', () => {
    const s = new PlacementState(fleet(), P80, { maintenance: ['c'], groupOf: (id) => (id === 'a1' ? 'db' : undefined) });
    assert.equal(s.place({ vmId: 'db2', cpuCores: 1, memBytes: GIB, antiAffinityGroup: 'db' })?.hostId, 'b');
    assert.equal(s.place({ vmId: 'db3', cpuCores: 1, memBytes: GIB, antiAffinityGroup: 'db' }), null, 'a and b hold the group, c is in maintenance');
    assert.equal(s.place({ vmId: 'pinned', cpuCores: 1, memBytes: GIB, allowedHosts: ['b'] })?.hostId, 'b');
  });

  it("uses each host's cluster targets and skips hosts flagged in maintenance in the snapshot", () => {
    const snap = fleet();
    snap.hosts[1] = { ...snap.hosts[1]!, cluster: 'dense' };
    snap.hosts[2] = { ...snap.hosts[2]!, maintenance: true };
    const s = new PlacementState(snap, { cpuTargetUtilization: 0.8, memTargetUtilization: 1, clusters: { dense: { cpuTargetUtilization: 1.5 } } });
    // 9 cores fit nowhere at 80 % of 10, but b's cluster allows 15 (b runs 2): b; c is in maintenance.
    assert.equal(s.place({ vmId: 'big', cpuCores: 9, memBytes: GIB })?.hostId, 'b');
    assert.equal(s.place({ vmId: 'big2', cpuCores: 7.5, memBytes: GIB }), null);
  });

  it('refuses when nothing fits and rejects invalid requests with a code', () => {
    const s = new PlacementState(fleet(), P80);
    assert.equal(s.place({ vmId: 'huge', cpuCores: 9, memBytes: GIB }), null);
    assert.throws(() => s.place({ vmId: 'bad', cpuCores: -1, memBytes: 0 }), (e: Error & { code?: string }) => e.code === 'SCHEDULER_INVALID_REQUEST');
  });

  it('property: never over target, never two of a group on a host, deterministic', () => {
    const arb = fc.record({
      hosts: fc.array(fc.record({ cpu: fc.integer({ min: 1, max: 64 }), mem: fc.integer({ min: 1, max: 256 }) }), { minLength: 1, maxLength: 12 }),
      requests: fc.array(fc.record({ cpu: fc.double({ min: 0, max: 16, noNaN: true }), mem: fc.integer({ min: 0, max: 64 }), group: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }) }), { maxLength: 40 }),
    });
    fc.assert(fc.property(arb, ({ hosts, requests }) => {
      const snap: FleetSnapshot = { takenAt: 0, hosts: hosts.map((h, i) => ({ hostId: `h${i}`, cpuCores: h.cpu, memBytes: h.mem * GIB })), vms: [] };
      const run = () => {
        const s = new PlacementState(snap, P80);
        return requests.map((r, i) => s.place({ vmId: `r${i}`, cpuCores: r.cpu, memBytes: r.mem * GIB, antiAffinityGroup: r.group })?.hostId ?? null);
      };
      const placed = run();
      assert.deepEqual(run(), placed);
      const cpu = new Map<string, number>();
      const mem = new Map<string, number>();
      const groupHosts = new Set<string>();
      placed.forEach((h, i) => {
        if (h === null) return;
        const r = requests[i]!;
        cpu.set(h, (cpu.get(h) ?? 0) + r.cpu);
        mem.set(h, (mem.get(h) ?? 0) + r.mem * GIB);
        if (r.group) {
          assert.ok(!groupHosts.has(`${r.group}@${h}`), `two of group ${r.group} on ${h}`);
          groupHosts.add(`${r.group}@${h}`);
        }
      });
      for (const host of snap.hosts) {
        assert.ok((cpu.get(host.hostId) ?? 0) <= host.cpuCores * 0.8 + 1e-9);
        assert.ok((mem.get(host.hostId) ?? 0) <= host.memBytes);
      }
    }));
  });
});
