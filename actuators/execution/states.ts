import { NovaError } from '../../core/index.ts';

/**
 * Life cycles of a plan and of its actions, as OpenStack Watcher's action plans and DRS's
 * recommendations have them, with one difference: a failed plan is not reverted wholesale by
 * default — every prefix of a NovaCron plan is safe (a host only sheds or only receives within a
 * plan), so what succeeded is kept and the plan stops; verification failures are rolled back
 * move by move (see executor.ts).
 */
export const PLAN_STATES = ['proposed', 'approved', 'rejected', 'superseded', 'running', 'succeeded', 'failed', 'rolled_back'] as const;
export type PlanState = (typeof PLAN_STATES)[number];

export const ACTION_STATES = ['proposed', 'approved', 'running', 'succeeded', 'failed', 'rolled_back', 'skipped'] as const;
export type ActionState = (typeof ACTION_STATES)[number];

const PLAN_NEXT: Readonly<Record<PlanState, readonly PlanState[]>> = {
  proposed: ['approved', 'rejected', 'superseded'],
  // An approved plan that has not started may still be superseded by a newer one.
  approved: ['running', 'superseded', 'rejected'],
  rejected: [],
  superseded: [],
  running: ['succeeded', 'failed'],
  succeeded: [],
  failed: ['rolled_back'],
  rolled_back: [],
};

const ACTION_NEXT: Readonly<Record<ActionState, readonly ActionState[]>> = {
  proposed: ['approved', 'skipped'],
  approved: ['running', 'skipped'],
  // A crash while running returns the action to approved on recovery when nothing happened.
  running: ['succeeded', 'failed', 'approved'],
  succeeded: ['rolled_back'],
  failed: [],
  rolled_back: [],
  skipped: [],
};

/** States a plan or an action stays in for good. */
export const TERMINAL_PLAN_STATES: ReadonlySet<PlanState> = new Set(['rejected', 'superseded', 'succeeded', 'failed', 'rolled_back']);
export const TERMINAL_ACTION_STATES: ReadonlySet<ActionState> = new Set(['succeeded', 'failed', 'rolled_back', 'skipped']);

/**
 * Whether an execution can never change again: the plan is in a state with no way out and so is
 * every action. Then no transition, and so no audit event, can follow (a failed plan may still be
 * rolled back, a succeeded action still rolled back, so neither counts).
 */
export function executionSettled(plan: PlanState, actions: Iterable<ActionState>): boolean {
  if (PLAN_NEXT[plan].length > 0) return false;
  for (const a of actions) if (ACTION_NEXT[a].length > 0) return false;
  return true;
}

/** Throws EXECUTION_TRANSITION_INVALID unless a plan may go from `from` to `to`. */
export function checkPlanTransition(from: PlanState, to: PlanState): void {
  if (!PLAN_NEXT[from].includes(to)) {
    throw new NovaError('EXECUTION_TRANSITION_INVALID', `a plan cannot go from ${from} to ${to} (from ${from} it may go to ${PLAN_NEXT[from].join(', ') || 'nothing: it is final'})`, { details: { from, to } });
  }
}

/** Throws EXECUTION_TRANSITION_INVALID unless an action may go from `from` to `to`. */
export function checkActionTransition(from: ActionState, to: ActionState): void {
  if (!ACTION_NEXT[from].includes(to)) {
    throw new NovaError('EXECUTION_TRANSITION_INVALID', `an action cannot go from ${from} to ${to} (from ${from} it may go to ${ACTION_NEXT[from].join(', ') || 'nothing: it is final'})`, { details: { from, to } });
  }
}
