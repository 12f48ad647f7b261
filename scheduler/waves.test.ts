import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Move } from './fleet-state.ts';
import { scheduleWaves } from './waves.ts';

const move = (vm: number, group: number): Move => ({ vm, from: 0, to: 1, cause: 'consolidate', group });

test('waves hold at most maxConcurrent moves, in decision order', () => {
  const moves = [0, 1, 2, 3, 4].map((i) => move(i, i));
  assert.deepEqual(scheduleWaves(moves, 2), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(scheduleWaves(moves, Infinity), [[0, 1, 2, 3, 4]]);
  assert.deepEqual(scheduleWaves([], 3), []);
});

test('a unit shares a wave: it starts a new wave rather than split, and runs alone over waves when larger than one', () => {
  const moves = [move(0, 0), move(1, 1), move(2, 1), move(3, 2), move(4, 2), move(5, 2), move(6, 3)];
  // Group 1 (two moves) does not fit beside group 0 in a wave of 2; group 2 (three) is larger than a wave.
  assert.deepEqual(scheduleWaves(moves, 2), [[0], [1, 2], [3, 4], [5], [6]]);
  assert.deepEqual(scheduleWaves(moves, 3), [[0, 1, 2], [3, 4, 5], [6]]);
});
