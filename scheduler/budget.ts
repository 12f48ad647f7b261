import type { Item } from './fleet-model.ts';

/** Migrations the plan may still add (Infinity = no limit). */
export interface MoveBudget {
  left: number;
}

/** Takes `moves` from the budget when it has them; false (and nothing taken) when it has not. */
export function spend(budget: MoveBudget, moves: number): boolean {
  if (moves > budget.left) return false;
  budget.left -= moves;
  return true;
}

/** What the moves that must happen (evacuation, must-rules, relief) could not do: items with no host, and items over the budget with the host they would have gone to. */
export interface ForcedOutcome {
  unplaced: Item[];
  deferred: { item: Item; to: number }[];
}
