export { PLAN_STATES, ACTION_STATES, TERMINAL_PLAN_STATES, TERMINAL_ACTION_STATES, checkPlanTransition, checkActionTransition, executionSettled, type PlanState, type ActionState } from './states.ts';
export {
  EXECUTION_MIGRATIONS,
  idempotencyKey,
  proposeExecution,
  transitionPlan,
  transitionAction,
  loadExecution,
  listExecutions,
  executionEvents,
  migrationsStartedSince,
  runningActions,
  withPlanLock,
  actionStateCounts,
  executionStateCounts,
  type ActionRow,
  type ExecutionRow,
  type ExecutionEvent,
} from './store.ts';
export { DEFAULT_LIMITS, checkLimits, insideWindow, RunningSlots, type ExecutionLimits, type MaintenanceWindow, type MigrationSlot } from './limits.ts';
export { AUTOMATION_LEVELS, DEFAULT_AUTOMATION, automationOf, autoApprovable, type AutomationLevel, type AutomationPolicy } from './automation.ts';
export { Executor, DEFAULT_EXECUTOR_OPTIONS, type ExecutorDeps, type ExecutorOptions, type ActionOutcome, type WorldView } from './executor.ts';
export { ExecutorMetrics } from './metrics.ts';
