import type { Move } from './fleet-state.ts';

/**
 * Groups the plan's moves into waves of at most `maxConcurrent` migrations that run at once, in
 * decision order (the moves that fix something come first). The moves of one group (a
 * must-affinity unit) share a wave, or run alone over consecutive waves when the unit is larger
 * than a wave. No ordering between waves is needed for capacity: within a plan a host only sheds
 * or only receives, so every prefix of the plan keeps every host within its planned load.
 */
export function scheduleWaves(moves: readonly Move[], maxConcurrent: number): number[][] {
  const waves: number[][] = [];
  let wave: number[] = [];
  for (let i = 0; i < moves.length; ) {
    let end = i;
    while (end < moves.length && moves[end]!.group === moves[i]!.group) end++;
    const size = end - i;
    if (wave.length > 0 && wave.length + size > maxConcurrent) {
      waves.push(wave);
      wave = [];
    }
    for (let k = i; k < end; k++) {
      if (wave.length === maxConcurrent) {
        waves.push(wave);
        wave = [];
      }
      wave.push(k);
    }
    // A unit spread over several waves has them to itself.
    if (size > maxConcurrent) {
      waves.push(wave);
      wave = [];
    }
    i = end;
  }
  if (wave.length > 0) waves.push(wave);
  return waves;
}
