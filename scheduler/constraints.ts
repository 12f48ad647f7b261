import { NovaError } from '../core/index.ts';
import type { FleetSnapshot, RuleStrength, RuleViolation } from './types.ts';

/** A rule of the snapshot, reduced to the VMs and hosts the snapshot knows. */
export interface NormalizedRule {
  id: string;
  scope: 'vm' | 'host';
  kind: 'affinity' | 'anti-affinity';
  strength: RuleStrength;
  /** Known VMs, sorted (one for a host rule). */
  vms: string[];
  /** Host rules only: the hosts named, sorted (unknown ones included: they simply match nothing). */
  hosts: string[];
}

/** The rules one VM takes part in: VM-VM rules by index into CompiledRules.rules, host rules as host-id sets. */
export interface VmRules {
  mustAnti: number[];
  shouldAnti: number[];
  shouldWith: number[];
  /** Hosts it may run on (intersection of its must-affinity host rules), or null for any. */
  mustHosts: Set<string> | null;
  mustNotHosts: Set<string> | null;
  shouldHosts: Set<string> | null;
  shouldNotHosts: Set<string> | null;
}

/** The snapshot's rules, validated and indexed by VM. */
export interface CompiledRules {
  /** Every rule that still binds two or more known VMs (VM-VM) or one known VM (VM-host), sorted by id. */
  rules: NormalizedRule[];
  /** VM → key of its must-affinity unit (its smallest member), for VMs in such a unit. */
  unitOf: Map<string, string>;
  perVm: Map<string, VmRules>;
}

// Code-unit order, independent of locale, so every process sorts ids the same way.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when `x` is one of the rule kinds or strengths a snapshot may use. */
const KINDS = new Set(['affinity', 'anti-affinity']);
const STRENGTHS = new Set(['must', 'should']);

/**
 * Validates and indexes the snapshot's rules. Unknown VMs are dropped from rules (they are not
 * running); a must-anti-affinity between two VMs that a must-affinity binds to one host cannot be
 * satisfied by any placement, so it is refused (SCHEDULER_INVALID_SNAPSHOT).
 */
export function compileRules(snapshot: FleetSnapshot): CompiledRules {
  const known = new Set(snapshot.vms.map((v) => v.vmId));
  const bad = (what: string): never => {
    throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `${what}; fix the rule in the inventory`);
  };
  const rules: NormalizedRule[] = [];
  for (const r of snapshot.vmRules ?? []) {
    if (!KINDS.has(r.kind) || !STRENGTHS.has(r.strength) || !Array.isArray(r.vms)) bad(`VM rule ${JSON.stringify(r)} needs kind affinity|anti-affinity, strength must|should and a vms list`);
    const vms = [...new Set(r.vms.filter((v) => known.has(v)))].sort(compareIds);
    if (vms.length < 2) continue;
    rules.push({ id: r.id ?? `${r.kind}/${r.strength}:${vms.join(',')}`, scope: 'vm', kind: r.kind, strength: r.strength, vms, hosts: [] });
  }
  for (const r of snapshot.hostRules ?? []) {
    if (!KINDS.has(r.kind) || !STRENGTHS.has(r.strength) || typeof r.vm !== 'string' || !Array.isArray(r.hosts)) bad(`host rule ${JSON.stringify(r)} needs a vm, a hosts list, kind affinity|anti-affinity and strength must|should`);
    if (!known.has(r.vm)) continue;
    const hosts = [...new Set(r.hosts)].sort(compareIds);
    rules.push({ id: r.id ?? `${r.kind}/${r.strength}:${r.vm}@${hosts.join(',')}`, scope: 'host', kind: r.kind, strength: r.strength, vms: [r.vm], hosts });
  }
  // Sorted by content too, so two rules sharing an id still come out in one order.
  const key = (r: NormalizedRule) => `${r.id}\u0000${r.scope}\u0000${r.kind}\u0000${r.strength}\u0000${r.vms.join(',')}\u0000${r.hosts.join(',')}`;
  rules.sort((a, b) => compareIds(key(a), key(b)));

  // Must-affinity units: union-find over VM ids, rooted at the smallest id.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r)!;
    for (let y = x; y !== r; ) {
      const next = parent.get(y)!;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  for (const r of rules) {
    if (r.scope !== 'vm' || r.kind !== 'affinity' || r.strength !== 'must') continue;
    for (const v of r.vms) if (!parent.has(v)) parent.set(v, v);
    for (const v of r.vms.slice(1)) {
      const a = find(r.vms[0]!);
      const b = find(v);
      if (a !== b) parent.set(compareIds(a, b) < 0 ? b : a, compareIds(a, b) < 0 ? a : b);
    }
  }
  const unitOf = new Map<string, string>();
  for (const v of parent.keys()) unitOf.set(v, find(v));

  const perVm = new Map<string, VmRules>();
  const of = (vm: string): VmRules => {
    let r = perVm.get(vm);
    if (!r) perVm.set(vm, (r = { mustAnti: [], shouldAnti: [], shouldWith: [], mustHosts: null, mustNotHosts: null, shouldHosts: null, shouldNotHosts: null }));
    return r;
  };
  const intersect = (a: Set<string> | null, b: readonly string[]) => (a === null ? new Set(b) : new Set(b.filter((h) => a.has(h))));
  const union = (a: Set<string> | null, b: readonly string[]) => new Set([...(a ?? []), ...b]);
  rules.forEach((r, i) => {
    if (r.scope === 'vm') {
      if (r.kind === 'affinity' && r.strength === 'must') return; // units carry it
      for (const v of r.vms) {
        const mine = of(v);
        if (r.kind === 'anti-affinity') (r.strength === 'must' ? mine.mustAnti : mine.shouldAnti).push(i);
        else mine.shouldWith.push(i);
      }
      if (r.kind === 'anti-affinity' && r.strength === 'must') {
        const units = new Map<string, string>();
        for (const v of r.vms) {
          const u = unitOf.get(v);
          if (u === undefined) continue;
          const other = units.get(u);
          if (other !== undefined) bad(`VMs ${other} and ${v} must share a host (must-affinity) yet must not (must-anti-affinity ${r.id})`);
          units.set(u, v);
        }
      }
      return;
    }
    const mine = of(r.vms[0]!);
    if (r.kind === 'affinity') {
      if (r.strength === 'must') mine.mustHosts = intersect(mine.mustHosts, r.hosts);
      else mine.shouldHosts = intersect(mine.shouldHosts, r.hosts);
    } else if (r.strength === 'must') mine.mustNotHosts = union(mine.mustNotHosts, r.hosts);
    else mine.shouldNotHosts = union(mine.shouldNotHosts, r.hosts);
  });
  return { rules, unitOf, perVm };
}

/** For each rule (same order), how a placement breaks it, or null when it holds; `hostOf` gives each known VM's host. */
export function ruleViolations(rules: readonly NormalizedRule[], hostOf: (vmId: string) => string): (Omit<RuleViolation, 'preExisting'> | null)[] {
  const out: (Omit<RuleViolation, 'preExisting'> | null)[] = [];
  for (const r of rules) {
    const hosts = r.vms.map(hostOf);
    let vms: string[] = [];
    if (r.scope === 'host') {
      const listed = r.hosts.includes(hosts[0]!);
      if (listed !== (r.kind === 'affinity')) vms = r.vms;
    } else if (r.kind === 'affinity') {
      if (new Set(hosts).size > 1) vms = r.vms;
    } else {
      const count = new Map<string, number>();
      for (const h of hosts) count.set(h, (count.get(h) ?? 0) + 1);
      vms = r.vms.filter((_, i) => count.get(hosts[i]!)! > 1);
    }
    if (vms.length === 0) {
      out.push(null);
      continue;
    }
    const where = [...new Set(vms.map(hostOf))].sort(compareIds);
    out.push({ rule: r.id, scope: r.scope, kind: r.kind, strength: r.strength, vms, hosts: where });
  }
  return out;
}
