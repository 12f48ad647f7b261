import { FirstFitIndex } from './fit-index.ts';
import { withinCapacity, type Fleet, type Item } from './fleet-model.ts';

/** Outcome of one packing pass: where every item ends up, and in which order moves were decided. */
export interface Packing {
  /** Final host of each item (by Item.index). */
  hostOf: Int32Array;
  /** Items that relocate at least one VM, in decision order. */
  moves: Item[];
  /** Items that fit nowhere under the policy and the must-rules: their VMs stay where they are. */
  unplaced: Item[];
}

/**
 * One first-fit-decreasing pass. Keeping a host lets its own items stay while they fit (and the
 * rules let them). A host takes arrivals only once kept, and a kept host that cannot hold all of
 * its own items ("shedding") takes none: so each host's departures are decided before its
 * arrivals, and executing the moves in decision order never puts a host over its target on the
 * way. Items that must move (maintenance, broken must-rules) are decided first, then the rest in
 * first-fit-decreasing order. Should-rules are tried as if they were must-rules first.
 */
export function pack(fleet: Fleet, initiallyKept: readonly number[]): Packing {
  const { hosts, items, clusterRange } = fleet;
  const n = hosts.length;
  // VMs of split units sit on other hosts until their unit is placed: their hosts count them
  // ("phantoms") till then, so no arrival is decided against room that is not free yet.
  const phantomCpu = new Float64Array(n);
  const phantomMem = new Float64Array(n);
  for (const it of fleet.constrained ? items : []) {
    if (!it.split) continue;
    for (const m of it.members) {
      if (m.host === it.host) continue;
      phantomCpu[m.host]! += m.cpu;
      phantomMem[m.host]! += m.mem;
    }
  }
  const cpu = Float64Array.from(phantomCpu);
  const mem = Float64Array.from(phantomMem);
  const kept = new Uint8Array(n);
  const shedding = new Uint8Array(n);
  // Kept hosts that take arrivals (kept, not shedding, not in maintenance), searchable in host order.
  const open = new FirstFitIndex(n);
  const receiving = (h: number) => kept[h] === 1 && shedding[h] === 0 && !hosts[h]!.maintenance;
  const refresh = (h: number) => {
    const host = hosts[h]!;
    open.set(h, host.cpuCap - cpu[h]!, host.memCap - mem[h]!, receiving(h));
  };
  const hostOf = new Int32Array(items.length).fill(-1);
  const placed = (v: Item) => hostOf[v.index]! >= 0;
  const moves: Item[] = [];
  const unplaced: Item[] = [];

  // Rule state: how many placed items of each anti-affinity rule sit on each host, and where the
  // placed members of each should-affinity rule are.
  const antiCount = new Map<number, number>();
  const withHosts = new Map<number, Map<number, number>>();
  const count = (groups: readonly number[], h: number, delta: number) => {
    for (const g of groups) antiCount.set(g * n + h, (antiCount.get(g * n + h) ?? 0) + delta);
  };
  const conflicts = (groups: readonly number[], h: number) => {
    for (const g of groups) if ((antiCount.get(g * n + h) ?? 0) > 0) return true;
    return false;
  };
  const record = (v: Item, h: number, delta: number) => {
    const r = v.rules;
    if (!r) return;
    count(r.mustAnti, h, delta);
    count(r.shouldAnti, h, delta);
    for (const g of r.shouldWith) {
      let at = withHosts.get(g);
      if (!at) withHosts.set(g, (at = new Map()));
      const c = (at.get(h) ?? 0) + delta;
      if (c > 0) at.set(h, c);
      else at.delete(h);
    }
  };
  // Hosts holding placed partners of v's should-affinity rules, or null when none is placed yet.
  const partnerHosts = (v: Item): number[] | null => {
    let out: Set<number> | null = null;
    for (const g of v.rules?.shouldWith ?? []) {
      const at = withHosts.get(g);
      if (at && at.size > 0) for (const h of at.keys()) (out ??= new Set()).add(h);
    }
    return out === null ? null : [...out].sort((a, b) => a - b);
  };

  const fitsRaw = (h: number, c: number, m: number, v: Item) => {
    const host = hosts[h]!;
    return withinCapacity(c + v.cpu, host.cpuCap) && withinCapacity(m + v.mem, host.memCap);
  };
  // May v arrive on h by the must-rules (and, when strict, the should-rules), given what is placed?
  const allowed = (v: Item, h: number, strict: boolean): boolean => {
    const host = hosts[h]!;
    if (host.maintenance || host.cluster !== v.cluster) return false;
    const r = v.rules;
    if (r === null) return true;
    if ((r.mustHosts && !r.mustHosts.has(h)) || r.mustNotHosts?.has(h) || r.noReturn?.has(h) || conflicts(r.mustAnti, h)) return false;
    return !strict || preferred(v, h);
  };
  const preferred = (v: Item, h: number): boolean => {
    const r = v.rules;
    if (r === null || !r.hasShould) return true;
    if ((r.shouldHosts && !r.shouldHosts.has(h)) || r.shouldNotHosts?.has(h) || conflicts(r.shouldAnti, h)) return false;
    const partners = r.shouldWith.length > 0 ? partnerHosts(v) : null;
    return partners === null || partners.includes(h);
  };
  // May own item u stay on its home h, with `claimed` the anti-affinity rules of items that stay before it?
  const canStay = (u: Item, h: number, c: number, m: number, claimed: readonly number[] | null): boolean => {
    if (u.mustLeave || !fitsRaw(h, c, m, u)) return false;
    const groups = u.rules?.mustAnti;
    if (!groups || groups.length === 0) return true;
    return !conflicts(groups, h) && !(claimed !== null && groups.some((g) => claimed.includes(g)));
  };

  const place = (h: number, v: Item, relocates: boolean) => {
    cpu[h]! += v.cpu;
    mem[h]! += v.mem;
    hostOf[v.index] = h;
    record(v, h, +1);
    if (relocates) moves.push(v);
    if (relocates && v.split) {
      for (const m of v.members) {
        if (m.host === v.host) continue;
        cpu[m.host]! -= m.cpu;
        mem[m.host]! -= m.mem;
        phantomCpu[m.host]! -= m.cpu;
        phantomMem[m.host]! -= m.mem;
        if (kept[m.host]) refresh(m.host);
        else refreshResidual(m.host);
      }
    }
    if (kept[h]) refresh(h);
    if (v.host !== h && !kept[v.host]) refreshResidual(v.host);
  };
  // Keeps host h: items that must stay (`forced`) go first, then its other items stay while they may.
  const keep = (h: number, forced: readonly Item[] = [], reportForced = false) => {
    kept[h] = 1;
    closed.set(h, 0, 0, false);
    for (const v of forced) {
      place(h, v, false);
      if (reportForced || v.oversized || v.stuck) unplaced.push(v);
    }
    for (const v of hosts[h]!.items) {
      if (placed(v)) continue;
      // A split unit staying home brings its other VMs over: that is a move.
      if (canStay(v, h, cpu[h]!, mem[h]!, null)) place(h, v, v.split);
      else shedding[h] = 1;
    }
    refresh(h);
  };
  // Unkept hosts, searchable by the room left once their own unplaced items stay (residual).
  // The residual of a host changes only when one of its items is placed elsewhere.
  const residualCpu = new Float64Array(n);
  const residualMem = new Float64Array(n);
  const closed = new FirstFitIndex(n);
  const simulateKeep = (h: number, target: Item | null) => {
    let c = phantomCpu[h]!;
    let m = phantomMem[h]!;
    let shed = false;
    let stays = false;
    let claimed: number[] | null = null;
    for (const u of hosts[h]!.items) {
      if (placed(u)) continue;
      if (canStay(u, h, c, m, claimed)) {
        c += u.cpu;
        m += u.mem;
        if (u === target) stays = true;
        if (u.rules !== null && u.rules.mustAnti.length > 0) (claimed ??= []).push(...u.rules.mustAnti);
      } else shed = true;
    }
    return { c, m, shed, stays, claimed };
  };
  const refreshResidual = (h: number) => {
    const host = hosts[h]!;
    const { c, m, shed } = simulateKeep(h, null);
    residualCpu[h] = c;
    residualMem[h] = m;
    closed.set(h, host.cpuCap - c, host.memCap - m, !kept[h] && !shed && !host.maintenance);
  };
  const closedEligible = (h: number) => !kept[h] && !hosts[h]!.maintenance && !simulateKeep(h, null).shed;
  // Would keeping unkept host h (its own items staying first) leave room for v, by the rules too?
  const closedHolds = (h: number, v: Item, strict: boolean): boolean => {
    if (h === v.host || !fitsRaw(h, residualCpu[h]!, residualMem[h]!, v) || !allowed(v, h, strict)) return false;
    const groups = v.rules?.mustAnti;
    if (!groups || groups.length === 0) return true;
    const { claimed } = simulateKeep(h, null);
    return claimed === null || !groups.some((g) => claimed.includes(g));
  };
  // Would keeping v's own unkept home leave v on it?
  const homeHolds = (v: Item, strict: boolean): boolean => {
    const h = v.host;
    if (kept[h] || (strict && !preferred(v, h))) return false;
    return simulateKeep(h, v).stays;
  };

  // Hosts v may go to, in host order, when that list is short (host rules, should-affinity
  // partners); null when it may go anywhere in its cluster.
  const candidates = (v: Item, strict: boolean): number[] | null => {
    const r = v.rules;
    if (r === null) return null;
    let list = r.mustHostList;
    if (strict) {
      const partners = r.shouldWith.length > 0 ? partnerHosts(v) : null;
      for (const other of [r.shouldHostList, partners]) {
        if (other === null) continue;
        list = list === null ? other : list.filter((h) => other.includes(h));
      }
    }
    return list;
  };
  const searchOpen = (v: Item, strict: boolean): number => {
    const list = candidates(v, strict);
    const fits = v.rules === null ? (h: number) => fitsRaw(h, cpu[h]!, mem[h]!, v) : (h: number) => fitsRaw(h, cpu[h]!, mem[h]!, v) && allowed(v, h, strict);
    if (list !== null) return list.find((h) => receiving(h) && fits(h)) ?? -1;
    const [lo, hi] = clusterRange[v.cluster]!;
    return open.firstFit(v.cpu, v.mem, fits, lo, hi);
  };
  // First unkept host, in order, whose keeping would hold v: another host with room left by its
  // own items, or v's own host if v would stay there.
  const searchClosed = (v: Item, strict: boolean): number => {
    const list = candidates(v, strict);
    let other: number;
    if (list !== null) other = list.find((h) => closedEligible(h) && closedHolds(h, v, strict)) ?? -1;
    else {
      const [lo, hi] = clusterRange[v.cluster]!;
      other = v.rules === null
        ? closed.firstFit(v.cpu, v.mem, (h) => h !== v.host && fitsRaw(h, residualCpu[h]!, residualMem[h]!, v), lo, hi)
        : closed.firstFit(v.cpu, v.mem, (h) => closedHolds(h, v, strict), lo, hi);
    }
    const own = homeHolds(v, strict) ? v.host : -1;
    return other < 0 ? own : own < 0 ? other : Math.min(other, own);
  };

  // Hosts of items that cannot or may not move are kept whatever happens, so their other items
  // are judged against a host that already holds them.
  const isForced = (v: Item) => v.oversized || v.stuck || v.pinned;
  for (const h of hosts) if (h.items.some(isForced)) keep(h.index, h.items.filter(isForced));
  for (const h of [...initiallyKept].sort((a, b) => a - b)) if (!kept[h]) keep(h);
  for (let h = 0; h < n; h++) if (!kept[h]) refreshResidual(h);
  const order = fleet.constrained ? [...items].sort((a, b) => a.priority - b.priority || a.index - b.index) : items;
  for (const v of order) {
    if (placed(v)) continue;
    let target = -1;
    for (const strict of v.rules?.hasShould ? [true, false] : [false]) {
      // v's own host, if kept, already refused it (it sheds), so first fit only looks elsewhere.
      target = searchOpen(v, strict);
      if (target >= 0) break;
      const h = searchClosed(v, strict);
      if (h < 0) continue;
      keep(h);
      if (placed(v)) break;
      if (fitsRaw(h, cpu[h]!, mem[h]!, v) && allowed(v, h, false)) {
        target = h;
        break;
      }
    }
    if (placed(v)) continue;
    if (target >= 0) place(target, v, true);
    else if (kept[v.host]) {
      // Fits nowhere: it stays, even though its host is (and remains) over target.
      place(v.host, v, false);
      unplaced.push(v);
    } else keep(v.host, [v], true);
  }
  // A host judged too full for an item may have been emptied afterwards (its own items found room
  // elsewhere): such a host is better used for the item than left off while another is overloaded.
  for (const v of [...unplaced]) {
    if (v.oversized || v.stuck) continue;
    const [lo, hi] = clusterRange[v.cluster]!;
    let h = -1;
    for (const strict of v.rules?.hasShould ? [true, false] : [false]) {
      for (let i = lo; i < hi && h < 0; i++) if (!kept[i] && fitsRaw(i, cpu[i]!, mem[i]!, v) && allowed(v, i, strict)) h = i;
      if (h >= 0) break;
    }
    if (h < 0) continue;
    keep(h);
    cpu[v.host]! -= v.cpu;
    mem[v.host]! -= v.mem;
    record(v, v.host, -1);
    place(h, v, true);
    unplaced.splice(unplaced.indexOf(v), 1);
  }
  return { hostOf, moves, unplaced };
}
