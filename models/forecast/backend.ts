import { loadTf } from './tf-loader.ts';

/** TF.js backends tried, best first when available. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** Outcome of trying one backend. */
export interface BackendTrial {
  backend: BackendName;
  ok: boolean;
  /** Median wall time of the probe workload (ms). */
  ms?: number;
  error?: string;
}

/** The backend chosen, and why. */
export interface BackendChoice {
  backend: BackendName;
  trials: BackendTrial[];
}

// The variable keeps TypeScript from resolving a package that is not installed here.
const TFJS_NODE = '@tensorflow/tfjs-node';

/**
 * Loads `@tensorflow/tfjs-node` (native TensorFlow) when it is installed and loads on this
 * platform; returns the reason when it does not.
 */
export async function loadNativeBackend(): Promise<{ ok: boolean; error?: string }> {
  const tf = await loadTf();
  try {
    await import(TFJS_NODE);
    if (!tf.findBackend('tensorflow')) return { ok: false, error: 'loaded but registered no "tensorflow" backend' };
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split('\n')[0] };
  }
}

/**
 * Picks the TF.js backend: native TensorFlow when it loads; otherwise whichever of wasm and
 * cpu runs `probe` (the caller's real workload: ops differ a lot in speed between backends)
 * fastest, median of `repeats` runs after a warm-up. Leaves the chosen backend active.
 */
export async function selectBackend(probe: () => void | Promise<void>, repeats = 3): Promise<BackendChoice> {
  const tf = await loadTf();
  // Production mode skips per-op debug checks (and the cpu backend's console banner).
  tf.enableProdMode();
  const trials: BackendTrial[] = [];
  const native = await loadNativeBackend();
  if (native.ok && (await tf.setBackend('tensorflow'))) {
    await tf.ready();
    trials.push({ backend: 'tensorflow', ok: true, ms: await timeProbe(probe, repeats) });
    return { backend: 'tensorflow', trials };
  }
  trials.push({ backend: 'tensorflow', ok: false, error: native.error });
  for (const backend of ['wasm', 'cpu'] as const) {
    try {
      if (!(await tf.setBackend(backend))) throw new Error('setBackend returned false');
      await tf.ready();
      trials.push({ backend, ok: true, ms: await timeProbe(probe, repeats) });
    } catch (err) {
      trials.push({ backend, ok: false, error: (err as Error).message.split('\n')[0] });
    }
  }
  const usable = trials.filter((t) => t.ok && t.ms !== undefined).sort((a, b) => a.ms! - b.ms!);
  const best = usable[0]?.backend ?? 'cpu';
  await tf.setBackend(best);
  await tf.ready();
  return { backend: best, trials };
}

async function timeProbe(probe: () => void | Promise<void>, repeats: number): Promise<number> {
  await probe();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await probe();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Name of the active TF.js backend. */
export async function activeBackend(): Promise<string> {
  return (await loadTf()).getBackend();
}
