import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NovaError } from '../core/index.ts';
import type { Sample } from '../schemas/index.ts';
import { CoalescingSampleStore } from './coalescing-store.ts';
import { SampleListStore, type SampleList } from '../test/support/sample-list-store.ts';

const host = (hostId: string, ts = 1): Sample => ({
  kind: 'host',
  sample: { ts, hostId, cpuUsedCores: 1, cpuCapacityCores: 8, memUsedBytes: 1, memTotalBytes: 2, diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 0 },
});

/** A store that records each write and fails the ones `fail` picks (the merge logic is under test here; QuestDB's side is in test/integration). */
class RecordingStore extends SampleListStore {
  readonly writes: string[][] = [];
  constructor(private readonly fail: (ids: string[]) => Error | undefined = () => undefined) {
    super();
  }
  async writeEncoded({ samples }: SampleList): Promise<void> {
    const ids = samples.map((s) => (s.kind === 'host' ? s.sample.hostId : s.sample.vmId));
    this.writes.push(ids);
    await new Promise((r) => setTimeout(r, 1));
    const err = this.fail(ids);
    if (err) throw err;
  }
}

test('writes started in the same turn go to the store as one write, in call order; each caller resolves once it is stored', async () => {
  const inner = new RecordingStore();
  const store = new CoalescingSampleStore(inner);
  await Promise.all([store.write([host('a'), host('b')]), store.write([host('c')]), store.write([]), store.write([host('d')])]);
  assert.deepEqual(inner.writes, [['a', 'b', 'c', 'd']]);
  // A later turn is a write of its own.
  await store.write([host('e')]);
  assert.deepEqual(inner.writes, [['a', 'b', 'c', 'd'], ['e']]);
  assert.equal(inner.writes.length, 2);
});

test('a refused merged write is retried per caller: only the batch holding the bad row fails', async () => {
  const refused = new NovaError('STORE_HTTP_400', 'bad row', { retriable: false });
  const inner = new RecordingStore((ids) => (ids.includes('bad') ? refused : undefined));
  const store = new CoalescingSampleStore(inner);
  const results = await Promise.allSettled([store.write([host('a')]), store.write([host('bad'), host('b')]), store.write([host('c')])]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal((results[1] as PromiseRejectedResult).reason, refused);
  assert.deepEqual(inner.writes, [['a', 'bad', 'b', 'c'], ['a'], ['bad', 'b'], ['c']]);
});

test('a retriable failure (store down) fails every caller of the merged write with it, without splitting', async () => {
  const down = new NovaError('STORE_UNREACHABLE', 'down', { retriable: true });
  const inner = new RecordingStore(() => down);
  const store = new CoalescingSampleStore(inner);
  const results = await Promise.allSettled([store.write([host('a')]), store.write([host('b')])]);
  assert.deepEqual(results.map((r) => (r.status === 'rejected' ? r.reason : r.status)), [down, down]);
  assert.deepEqual(inner.writes, [['a', 'b']]);
});
