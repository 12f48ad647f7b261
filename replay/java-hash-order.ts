/**
 * Java HashMap iteration order of CloudSim's per-host CPU scheduler map (mipsMapRequested, keyed
 * by VM uid "<brokerId>-<vmId>"). CloudSim re-allocates a host's CPU in that order after a VM is
 * destroyed and sums claims in it when a host is oversubscribed; reproducing it reproduces the
 * rounding of "available MIPS" and of the scale factor, which decide knife-edge placements.
 *
 * Order = buckets ascending (spread hash & (capacity − 1)), insertion order within a bucket.
 * Insertion order always equals the host's VM list order in CloudSim (VMs are re-put in list
 * order at every recomputation and appended on arrival), so a stable sort of the list by bucket
 * gives the iteration order. Capacity starts at 16 and doubles when the map holds more than
 * 3/4 of it, or when a bucket would chain a 9th key while the table is under 64; it never shrinks.
 */

/** CloudSim's broker is the third simulation entity (after shutdown and CIS), id 2. */
export const CLOUDSIM_BROKER_ID = 2;

/** Java's String.hashCode. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** HashMap.hash of each VM's uid: the key hash with its high half folded in. */
export function vmKeyHashes(vmCount: number, brokerId = CLOUDSIM_BROKER_ID): Int32Array {
  const out = new Int32Array(vmCount);
  for (let v = 0; v < vmCount; v++) {
    const h = javaStringHash(`${brokerId}-${v}`);
    out[v] = h ^ (h >>> 16);
  }
  return out;
}

const counts = new Int32Array(1 << 12);

function countBuckets(list: ArrayLike<number>, upTo: number, cap: number, keyHash: Int32Array): void {
  counts.fill(0, 0, cap);
  for (let i = 0; i < upTo; i++) counts[keyHash[list[i]!]! & (cap - 1)]!++;
}

/**
 * Capacity after putting `list`'s keys one by one into a map of capacity `capacity` that
 * already holds the first `present` of them (HashMap.putVal's resize rules).
 */
export function capacityAfterPuts(list: ArrayLike<number>, present: number, capacity: number, keyHash: Int32Array): number {
  // Nothing can grow: the map stays within 3/4 and no bucket can already hold 8 keys.
  if (list.length <= capacity * 0.75 && (capacity >= 64 || list.length <= 8)) return capacity;
  let cap = capacity;
  countBuckets(list, present, cap, keyHash);
  for (let i = present; i < list.length; i++) {
    if (counts[keyHash[list[i]!]! & (cap - 1)]! >= 8 && cap < 64) {
      cap *= 2;
      countBuckets(list, i, cap, keyHash);
    }
    counts[keyHash[list[i]!]! & (cap - 1)]!++;
    if (i + 1 > cap * 0.75) {
      cap *= 2;
      countBuckets(list, i + 1, cap, keyHash);
    }
  }
  return cap;
}

/** Positions of `list` (length n) in HashMap iteration order, written to `out`. */
export function hashIterationOrder(list: ArrayLike<number>, n: number, capacity: number, keyHash: Int32Array, out: Int32Array): Int32Array {
  for (let i = 0; i < n; i++) out[i] = i;
  const mask = capacity - 1;
  // Insertion sort: lists are short (tens of VMs) and it is stable.
  for (let i = 1; i < n; i++) {
    const p = out[i]!;
    const b = keyHash[list[p]!]! & mask;
    let j = i - 1;
    while (j >= 0 && (keyHash[list[out[j]!]!]! & mask) > b) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = p;
  }
  return out;
}
