import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VmRec } from './fleet-model.ts';
import { scheduleWaves, type MoveGroup } from './waves.ts';

const vm = (id: string, host: number, cpu: number, mustAnti: number[] = []): VmRec => ({
  index: 0, id, host, cpu, mem: 0, source: undefined, dirtyRate: 0, seconds: 1, costWh: 0, nonConverging: false, mustAnti,
});
const hosts = (...caps: number[]) => caps.map((c) => ({ cpuCap: c, memCap: 1 }));
const group = (rank: number, ...moves: [VmRec, number][]): MoveGroup => ({ rank, moves: moves.map(([v, to]) => ({ vm: v, from: v.host, to })) });
const ids = (s: ReturnType<typeof scheduleWaves>) => s.waves.map((w) => w.map((i) => s.moves[i]!.vm.id));

test('a move waits for the departure that makes room on its target', () => {
  const a = vm('a', 0, 3);
  const b = vm('b', 1, 2);
  // b fits on host 0 only once a has left it.
  const s = scheduleWaves(hosts(4, 4, 4), [a, b], [group(3, [a, 2]), group(3, [b, 0])], Infinity, Infinity);
  assert.deepEqual(ids(s), [['a'], ['b']]);
  assert.deepEqual([s.moves[1]!.cpuBefore, s.moves[1]!.cpuAfter], [0, 2]);
});

test('departures of the same wave are not credited: a full swap cannot be ordered and is deferred', () => {
  const a = vm('a', 0, 3);
  const b = vm('b', 1, 3);
  const s = scheduleWaves(hosts(4, 4), [a, b], [group(3, [a, 1]), group(3, [b, 0])], Infinity, Infinity);
  assert.deepEqual(s.moves, []);
  assert.deepEqual(s.deferred, [{ group: 0, why: 'sequencing' }, { group: 1, why: 'sequencing' }]);
});

test('the budget keeps the lowest ranks, letting a smaller group past one that does not fit', () => {
  const [a, b, c, d] = [vm('a', 0, 1), vm('b', 0, 1), vm('c', 0, 1), vm('d', 0, 1)];
  const s = scheduleWaves(hosts(9, 9), [a, b, c, d], [group(3, [a, 1]), group(1, [b, 1], [c, 1]), group(2, [d, 1])], 2, Infinity);
  assert.deepEqual(ids(s), [['b', 'c']]);
  assert.deepEqual(s.deferred, [{ group: 0, why: 'budget' }, { group: 2, why: 'budget' }]);
});

test('waves hold at most maxConcurrent moves; a larger group runs alone over consecutive waves', () => {
  const vms = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => vm(id, 0, 1));
  const [a, b, c, d, e, f] = vms as [VmRec, VmRec, VmRec, VmRec, VmRec, VmRec];
  const s = scheduleWaves(hosts(9, 9, 9), vms, [group(3, [a, 1]), group(3, [b, 1], [c, 1], [d, 1]), group(3, [e, 2]), group(3, [f, 1])], Infinity, 2);
  // e (to host 2) may overtake the waiting unit; f (to host 1, the unit's target) may not.
  assert.deepEqual(ids(s), [['a', 'e'], ['b', 'c'], ['d'], ['f']]);
  assert.deepEqual(s.moves.map((m) => m.wave), [0, 0, 1, 1, 2, 3]);
});

test('a VM never arrives where a VM of its must-anti-affinity rule still is, or arrives in the same wave', () => {
  const a = vm('a', 0, 1, [7]);
  const b = vm('b', 1, 1, [7]);
  const c = vm('c', 2, 1, [7]);
  // b leaves host 1 for host 3 while a wants host 1; c wants host 3 too.
  const s = scheduleWaves(hosts(9, 9, 9, 9), [a, b, c], [group(3, [a, 1]), group(3, [b, 3]), group(3, [c, 3])], Infinity, Infinity);
  assert.deepEqual(ids(s), [['b'], ['a']]);
  assert.deepEqual(s.deferred, [{ group: 2, why: 'sequencing' }]);
});
