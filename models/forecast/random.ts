import { seededRandom } from '../../core/index.ts';

/** Seeded uniform [0, 1) generator (mulberry32; core's, under the name the forecasting code uses). */
export const mulberry32: (seed: number) => () => number = seededRandom;

/**
 * 32-bit FNV-1a hash of a string, seeded, with murmur3's finaliser: plain FNV leaves the high
 * bits of names that differ only at the end ("vm/1", "vm/2") nearly equal.
 */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fisher-Yates shuffle in place with the given generator. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(a: T, rand: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
