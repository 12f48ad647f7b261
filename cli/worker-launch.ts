import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The node flags a `novacron worker` process runs with, read from cli/worker.node-flags so the
 * `./novacron` launcher (bash) and the programs that spawn workers (bench:ingest, the fault
 * tests) start the same process.
 *
 * Why a 128 MB semi-space (V8's young generation; Node 20's default is 16 MB): a worker holds a
 * consume round of decoded samples while it stores and scores them, more than the default young
 * generation, so every scavenge copied the round and promoted it to the old generation, whose
 * full collections then walk the detectors of 100,000 VMs. bench:ingest, 100,000 VMs, 100,000
 * samples/s offered, rdkafka, 1 worker, back to back: default 46,386 samples/s landed at 16.6 µs
 * of worker CPU a sample (GC 31 % of it), 32 MB 55,349 / 13.9 µs, 64 MB 53,213 / 13.7 µs,
 * 128 MB 61,695 / 12.2 µs. The cost is up to ~3 × 128 MB more resident memory at peak.
 *
 * Why `--single-threaded-gc`: V8 runs scavenges and marking on helper threads as well, which on
 * a machine whose cores are all busy (this one: 2 cores shared with QuestDB, Kafka and the
 * producers) only compete with the work. bench:ingest, 100,000 VMs, rdkafka, alternated pairs
 * (2 workers at 100,000/s offered ×3, 1 worker at 60,000/s ×1): the machine's CPU per landed
 * sample 27.1 / 26.8 / 26.5 / 27.1 µs with it, 34.5 / 31.1 / 28.8 / 30.5 without. On a host with
 * idle cores, dropping it can shorten pauses.
 */
export function workerNodeFlags(): string[] {
  const file = fileURLToPath(new URL('./worker.node-flags', import.meta.url));
  return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
}

/** Arguments for `process.execPath` that start `novacron worker` from the project root. */
export function workerProcessArgs(extraNodeFlags: readonly string[] = []): string[] {
  return [...workerNodeFlags(), ...extraNodeFlags, '--import', 'tsx', 'cli/main.ts', 'worker'];
}
