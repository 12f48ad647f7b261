import { withinCapacity, type VmRec } from './fleet-model.ts';

/** One VM's migration. */
export interface PlannedMove {
  vm: VmRec;
  from: number;
  to: number;
}

/** Moves that go together (a VM, or the VMs of a must-affinity unit) and their budget rank (lower goes first). */
export interface MoveGroup {
  moves: PlannedMove[];
  rank: number;
}

/** A move placed in a wave, with its target's load (conservatively: no departure of the wave credited) before and after it. */
export interface ScheduledMove extends PlannedMove {
  group: number;
  wave: number;
  cpuBefore: number;
  cpuAfter: number;
  memBefore: number;
  memAfter: number;
}

/** The moves in execution order, their waves, and what was left out. */
export interface Schedule {
  /** Moves in execution order: wave by wave, each wave in decision order. */
  moves: ScheduledMove[];
  /** Indices into `moves`, one array per wave. */
  waves: number[][];
  deferred: { group: number; why: 'budget' | 'sequencing' }[];
}

/**
 * Orders moves into waves of at most `maxConcurrent` migrations that run at once. A move joins
 * a wave only if its target has room counting every VM still on it (departures of the same wave
 * are not credited: they may finish last) plus the wave's other arrivals, and no VM of one of its
 * must-anti-affinity rules is, or arrives, there: so no host goes over target and no
 * must-anti-affinity rule is broken at any moment. A group (a must-affinity unit) runs in one wave,
 * or alone in consecutive waves when it is larger than one. Groups over `budget` (lowest rank
 * kept first) and groups no order can make room for are deferred. Deterministic.
 */
export function scheduleWaves(
  hosts: readonly { cpuCap: number; memCap: number }[],
  vms: readonly VmRec[],
  groups: readonly MoveGroup[],
  budget: number,
  maxConcurrent: number,
): Schedule {
  const n = hosts.length;
  const deferred: Schedule['deferred'] = [];
  let pending = groups.map((_, i) => i);
  const total = groups.reduce((s, g) => s + g.moves.length, 0);
  if (total > budget) {
    // Highest-priority groups first; a group too big for what is left gives way to smaller ones.
    const byRank = [...pending].sort((a, b) => groups[a]!.rank - groups[b]!.rank || a - b);
    const chosen = new Set<number>();
    let left = budget;
    for (const g of byRank) {
      const size = groups[g]!.moves.length;
      if (size <= left) {
        chosen.add(g);
        left -= size;
      } else deferred.push({ group: g, why: 'budget' });
    }
    pending = pending.filter((g) => chosen.has(g));
  }

  const cpu = new Float64Array(n);
  const mem = new Float64Array(n);
  const anti = new Map<number, number>();
  for (const v of vms) {
    cpu[v.host]! += v.cpu;
    mem[v.host]! += v.mem;
    for (const g of v.mustAnti) anti.set(g * n + v.host, (anti.get(g * n + v.host) ?? 0) + 1);
  }

  const moves: ScheduledMove[] = [];
  const waves: number[][] = [];
  // Arrivals of the wave being built, per host; `touched` lists the hosts to reset afterwards.
  const addCpu = new Float64Array(n);
  const addMem = new Float64Array(n);
  const touched: number[] = [];
  const addAnti = new Map<number, number>();
  const clashes = (vm: VmRec, to: number) => {
    for (const a of vm.mustAnti) if ((anti.get(a * n + to) ?? 0) > 0 || (addAnti.get(a * n + to) ?? 0) > 0) return true;
    return false;
  };
  // Adds group g to the wave when all its moves fit now; returns them, or null (and adds nothing).
  const tryGroup = (g: MoveGroup, gi: number): ScheduledMove[] | null => {
    const out: ScheduledMove[] = [];
    for (const m of g.moves) {
      const to = m.to;
      const cpuBefore = cpu[to]! + addCpu[to]!;
      const memBefore = mem[to]! + addMem[to]!;
      if (!withinCapacity(cpuBefore + m.vm.cpu, hosts[to]!.cpuCap) || !withinCapacity(memBefore + m.vm.mem, hosts[to]!.memCap) || (m.vm.mustAnti.length > 0 && clashes(m.vm, to))) {
        for (const u of out) take(u, -1);
        return null;
      }
      const s: ScheduledMove = { vm: m.vm, from: m.from, to, group: gi, wave: -1, cpuBefore, cpuAfter: cpuBefore + m.vm.cpu, memBefore, memAfter: memBefore + m.vm.mem };
      take(s, +1);
      out.push(s);
    }
    return out;
  };
  const take = (s: ScheduledMove, sign: number) => {
    if (addCpu[s.to] === 0 && addMem[s.to] === 0) touched.push(s.to);
    addCpu[s.to]! += sign * s.vm.cpu;
    addMem[s.to]! += sign * s.vm.mem;
    for (const a of s.vm.mustAnti) addAnti.set(a * n + s.to, (addAnti.get(a * n + s.to) ?? 0) + sign);
  };

  // Hosts a waiting group targets: later groups may not arrive there before it, so arrivals on
  // each host keep their decision order (the order the packer proved safe) and nothing starves.
  const reserved = new Uint8Array(n);
  const reservedList: number[] = [];
  const reserve = (g: MoveGroup) => {
    for (const m of g.moves) {
      if (reserved[m.to]) continue;
      reserved[m.to] = 1;
      reservedList.push(m.to);
    }
  };
  while (pending.length > 0) {
    const inWave: ScheduledMove[][] = [];
    let slots = maxConcurrent;
    const next: number[] = [];
    let i = 0;
    for (; i < pending.length && slots > 0; i++) {
      const gi = pending[i]!;
      const g = groups[gi]!;
      // A group larger than a whole wave runs alone, over as many waves as it needs.
      const tried = (g.moves.length > slots && inWave.length > 0) || g.moves.some((m) => reserved[m.to]) ? null : tryGroup(g, gi);
      if (tried === null) {
        reserve(g);
        next.push(gi);
        continue;
      }
      inWave.push(tried);
      slots -= g.moves.length;
    }
    for (; i < pending.length; i++) next.push(pending[i]!);
    for (const h of touched) {
      addCpu[h] = 0;
      addMem[h] = 0;
    }
    touched.length = 0;
    addAnti.clear();
    for (const h of reservedList) reserved[h] = 0;
    reservedList.length = 0;
    if (inWave.length === 0) {
      for (const g of next) deferred.push({ group: g, why: 'sequencing' });
      break;
    }
    let wave: number[] = [];
    for (const ms of inWave) {
      for (const m of ms) {
        if (wave.length === maxConcurrent) {
          waves.push(wave);
          wave = [];
        }
        m.wave = waves.length;
        wave.push(moves.length);
        moves.push(m);
        cpu[m.from]! -= m.vm.cpu;
        mem[m.from]! -= m.vm.mem;
        cpu[m.to]! += m.vm.cpu;
        mem[m.to]! += m.vm.mem;
        for (const g of m.vm.mustAnti) {
          anti.set(g * n + m.from, anti.get(g * n + m.from)! - 1);
          anti.set(g * n + m.to, (anti.get(g * n + m.to) ?? 0) + 1);
        }
      }
    }
    waves.push(wave);
    pending = next;
  }
  deferred.sort((a, b) => a.group - b.group);
  return { moves, waves, deferred };
}
