import type { Sample } from '../schemas/index.ts';
import { writeSamples, type EncodedRows, type SampleStore } from './sample-store.ts';
import { classifyStoreError } from './store-retry.ts';

interface PendingWrite<R> {
  rows: R;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A SampleStore that merges the writes its callers start in the same turn of the event loop
 * into one write of the store it wraps: the worker handles the batches of all its partitions
 * side by side, and each batch on its own was one QuestDB transaction per table. QuestDB's cost
 * per transaction (WAL segment, apply, dedup merge) was the pipeline's limit: bench:ingest with
 * 4 partitions instead of 16 (4× larger transactions) landed 88k instead of 72k samples/s.
 *
 * Every caller's promise settles with the merged write: it resolves once all of it is durable.
 * When the merged write is refused (not retriable: a row QuestDB cannot take), each caller's
 * rows are written again on their own, so only the batch holding the bad row fails, as it
 * would have without merging. A retriable failure (QuestDB down, slow) fails every caller: each
 * retries on its own policy, and DEDUP keys make re-sent rows no-ops.
 */
export class CoalescingSampleStore<R extends EncodedRows = EncodedRows> implements SampleStore<R> {
  private pending: PendingWrite<R>[] = [];
  private scheduled = false;

  constructor(private readonly inner: SampleStore<R>) {}

  encode(samples: readonly Sample[]): R {
    return this.inner.encode(samples);
  }

  merge(parts: readonly R[]): R {
    return this.inner.merge(parts);
  }

  release(rows: R): void {
    this.inner.release(rows);
  }

  write(samples: readonly Sample[]): Promise<void> {
    return writeSamples(this, samples);
  }

  writeEncoded(rows: R): Promise<void> {
    if (rows.rows === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // setImmediate, not a microtask: the worker starts its batches' writes from handlers that
      // each run up to their first await; all of them are in by the next check phase.
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.pending;
    this.pending = [];
    if (group.length === 1) {
      this.writeAlone(group[0]!);
      return;
    }
    const merged = this.inner.merge(group.map((w) => w.rows));
    this.inner.writeEncoded(merged).then(
      () => {
        this.inner.release(merged);
        for (const w of group) w.resolve();
      },
      (err: unknown) => {
        this.inner.release(merged);
        if (classifyStoreError(err).retriable) for (const w of group) w.reject(err);
        else for (const w of group) this.writeAlone(w);
      },
    );
  }

  private writeAlone(w: PendingWrite<R>): void {
    this.inner.writeEncoded(w.rows).then(w.resolve, w.reject);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
