/** Role of a VM on one host while a migration is in flight. */
export const ROLE_NORMAL = 0;
/** The VM runs here and is being copied away: it gets 90 % of its claim but reserves all of it. */
export const ROLE_OUT = 1;
/** The VM is being copied here: the host reserves and is charged 10 % of its claim. */
export const ROLE_IN = 2;

/**
 * CPU sharing on one host, as CloudSim's VmSchedulerTimeSharedOverSubscription does it.
 * VMs claim min(requested, one core) in list order (10 % of that when migrating in); if every
 * claim fits in what the earlier ones left, each gets its claim (90 % when migrating out);
 * otherwise the host is oversubscribed and every claim is scaled by C / Σ claims and floored.
 * Writes the allocation of list position i to `alloc[i]` and returns the MIPS left available.
 * `fitOrder` is the order claims are granted in and `sumOrder` the order claims are summed in
 * when oversubscribed (positions into `vms`; list order when null) — CloudSim uses its
 * HashMap's order for both after a VM is destroyed, and for the sum at every recomputation.
 */
export function allocateCpu(
  count: number,
  vms: ArrayLike<number>,
  roles: ArrayLike<number> | null,
  requested: Float64Array,
  coreMips: number,
  totalMips: number,
  alloc: Float64Array,
  fitOrder: ArrayLike<number> | null = null,
  sumOrder: ArrayLike<number> | null = null,
): number {
  let available = totalMips;
  let oversubscribed = false;
  for (let k = 0; k < count; k++) {
    const i = fitOrder === null ? k : fitOrder[k]!;
    const r = requested[vms[i]!]!;
    const q = r > coreMips ? coreMips : r;
    const claim = roles !== null && roles[i] === ROLE_IN ? q * 0.1 : q;
    // Available is decremented claim by claim: the same rounding as CloudSim's running balance.
    if (available >= claim) available -= claim;
    else {
      oversubscribed = true;
      available = 0;
    }
  }
  if (!oversubscribed) {
    for (let i = 0; i < count; i++) {
      const r = requested[vms[i]!]!;
      const q = r > coreMips ? coreMips : r;
      const role = roles === null ? ROLE_NORMAL : roles[i];
      alloc[i] = role === ROLE_OUT ? q * 0.9 : role === ROLE_IN ? q * 0.1 : q;
    }
    return available;
  }
  let total = 0;
  for (let k = 0; k < count; k++) {
    const i = sumOrder === null ? k : sumOrder[k]!;
    const r = requested[vms[i]!]!;
    const q = r > coreMips ? coreMips : r;
    total += roles !== null && roles[i] === ROLE_IN ? q * 0.1 : q;
  }
  const scale = totalMips / total;
  for (let i = 0; i < count; i++) {
    const r = requested[vms[i]!]!;
    const q = r > coreMips ? coreMips : r;
    const role = roles === null ? ROLE_NORMAL : roles[i];
    alloc[i] = Math.floor(role === ROLE_OUT ? q * scale * 0.9 : role === ROLE_IN ? q * 0.1 * scale : q * scale);
  }
  return 0;
}
