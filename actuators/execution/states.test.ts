import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTION_STATES, checkActionTransition, checkPlanTransition, executionSettled, PLAN_STATES, type ActionState, type PlanState } from './states.ts';

const canLeave = <S extends string>(from: S, all: readonly S[], check: (from: S, to: S) => void) =>
  all.some((to) => {
    try {
      check(from, to);
      return true;
    } catch {
      return false;
    }
  });

test('an execution is settled exactly when neither the plan nor any action can make another transition', () => {
  const planCanMove = (s: PlanState) => canLeave(s, PLAN_STATES, checkPlanTransition);
  const actionCanMove = (s: ActionState) => canLeave(s, ACTION_STATES, checkActionTransition);
  for (const plan of PLAN_STATES) {
    for (const action of ACTION_STATES) {
      assert.equal(executionSettled(plan, [action]), !planCanMove(plan) && !actionCanMove(action), `${plan} with an action ${action}`);
    }
    assert.equal(executionSettled(plan, []), !planCanMove(plan), `${plan} without actions`);
  }
  assert.equal(executionSettled('superseded', ['skipped', 'skipped', 'failed']), true);
  assert.equal(executionSettled('superseded', ['skipped', 'succeeded']), false, 'a succeeded action may still be rolled back');
  assert.equal(executionSettled('failed', ['failed']), false, 'a failed plan may still be rolled back');
  assert.equal(executionSettled('running', ['skipped']), false);
});
