/**
 * Sample-to-queryable latency from per-bucket row counts (the probe behind bench:ingest).
 *
 * Why counts and not markers: every sample's ts is the wall clock when the producer made it,
 * and producers report how many VM samples they stamped in each BUCKET_MS bucket of ts. A
 * poller asks QuestDB every ~250 ms for `count()` per bucket over the still-open buckets only
 * (one interval scan on the designated timestamp, at most 10 s of buckets from the oldest open
 * one, so it stays cheap under load: see POLL_SPAN_BUCKETS in pipeline.ts). Rows that became
 * visible in a bucket between two polls landed somewhere between those polls; their latency is estimated as (midpoint of the two poll starts) −
 * (midpoint of the bucket). That covers every sample (not a marker subset), with a resolution
 * of about ± (poll interval + bucket)/2 ≈ ±0.2 s, which is fine for p50/p99 in seconds.
 */
export const BUCKET_MS = 100;

export interface LatencySummary {
  /** Weighted percentiles in seconds (NaN when nothing was observed). */
  p50: number;
  p99: number;
  /** VM samples produced in the window, and how many of them became visible. */
  produced: number;
  landed: number;
}

interface Observation {
  bucket: number;
  latencyMs: number;
  rows: number;
}

/** Keeps produced and visible counts per bucket and turns visibility deltas into latencies. */
export class LandingTracker {
  private readonly produced = new Map<number, number>();
  private readonly visible = new Map<number, number>();
  private readonly observations: Observation[] = [];
  private lastPollStart: number | undefined;
  /** Buckets below this are complete (or given up on) and are not polled again. */
  private floor = -Infinity;

  addProduced(bucket: number, rows: number): void {
    this.produced.set(bucket, (this.produced.get(bucket) ?? 0) + rows);
  }

  /**
   * First bucket the next poll must ask about: the oldest one not yet fully visible, never
   * older than `nowMs - maxAgeMs` (a bucket that old is abandoned and counts as not landed).
   * Buckets of the last second stay open even when complete: producers report counts every
   * 250 ms, so such a bucket may still grow.
   */
  pollFrom(nowMs: number, maxAgeMs: number): number {
    const limit = Math.floor((nowMs - maxAgeMs) / BUCKET_MS);
    const settled = Math.floor((nowMs - 1000) / BUCKET_MS);
    let from = Infinity;
    let newestComplete = -Infinity;
    for (const [bucket, rows] of this.produced) {
      if (bucket < this.floor) continue;
      if ((this.visible.get(bucket) ?? 0) < rows) from = Math.min(from, bucket);
      else newestComplete = Math.max(newestComplete, bucket);
    }
    if (from === Infinity) from = newestComplete === -Infinity ? limit : newestComplete + 1;
    this.floor = Math.max(this.floor, limit, Math.min(from, settled));
    return this.floor;
  }

  /**
   * Records one poll: `counts` are the visible rows per bucket (for buckets >= the poll's
   * `from`) as read by a query that started at `pollStart` (ms).
   */
  observe(pollStart: number, counts: ReadonlyMap<number, number>): void {
    const landedAt = this.lastPollStart === undefined ? pollStart : (this.lastPollStart + pollStart) / 2;
    for (const [bucket, rows] of counts) {
      const before = this.visible.get(bucket) ?? 0;
      if (rows <= before) continue;
      this.visible.set(bucket, rows);
      const latencyMs = Math.max(0, landedAt - (bucket * BUCKET_MS + BUCKET_MS / 2));
      this.observations.push({ bucket, latencyMs, rows: rows - before });
    }
    this.lastPollStart = pollStart;
  }

  /** Visible VM rows known to the tracker, and produced ones, over all buckets. */
  totals(): { produced: number; visible: number } {
    let produced = 0;
    let visible = 0;
    for (const n of this.produced.values()) produced += n;
    for (const n of this.visible.values()) visible += n;
    return { produced, visible };
  }

  /**
   * Percentiles over samples produced in [fromMs, toMs). Samples that never became visible
   * count with their age at `endMs` (a lower bound on their latency), so a lagging pipeline
   * cannot look fast by leaving its slowest samples out.
   */
  summary(fromMs: number, toMs: number, endMs: number): LatencySummary {
    const lo = Math.floor(fromMs / BUCKET_MS);
    const hi = Math.floor(toMs / BUCKET_MS);
    const inWindow = (b: number) => b >= lo && b < hi;
    const points: Observation[] = this.observations.filter((o) => inWindow(o.bucket));
    let produced = 0;
    let landed = 0;
    for (const [bucket, rows] of this.produced) {
      if (!inWindow(bucket)) continue;
      produced += rows;
      const seen = Math.min(rows, this.visible.get(bucket) ?? 0);
      landed += seen;
      if (seen < rows) points.push({ bucket, latencyMs: Math.max(0, endMs - (bucket * BUCKET_MS + BUCKET_MS / 2)), rows: rows - seen });
    }
    return { p50: weightedQuantile(points, 0.5) / 1000, p99: weightedQuantile(points, 0.99) / 1000, produced, landed };
  }
}

/** The smallest latency whose cumulative weight reaches q of the total (NaN when empty). */
export function weightedQuantile(points: readonly { latencyMs: number; rows: number }[], q: number): number {
  const sorted = [...points].filter((p) => p.rows > 0).sort((a, b) => a.latencyMs - b.latencyMs);
  const total = sorted.reduce((s, p) => s + p.rows, 0);
  if (total === 0) return NaN;
  const target = q * total;
  let cumulative = 0;
  for (const p of sorted) {
    cumulative += p.rows;
    if (cumulative >= target) return p.latencyMs;
  }
  return sorted[sorted.length - 1]!.latencyMs;
}
