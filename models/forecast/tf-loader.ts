import type * as TF from '@tensorflow/tfjs';

let loading: Promise<typeof TF> | undefined;

/**
 * TF.js, loaded on first use: importing the models folder (as the API and stream workers do)
 * must not pay TF.js's half-second start-up when only plain-array inference runs. Also
 * registers the wasm backend (its binaries load from node_modules in Node).
 */
export function loadTf(): Promise<typeof TF> {
  loading ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    return tf;
  })();
  return loading;
}
