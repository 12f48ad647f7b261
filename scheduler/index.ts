export * from './types.ts';
export { planConsolidation, withinCapacity, CAPACITY_TOLERANCE } from './ffd.ts';
export { buildSnapshot } from './snapshot.ts';
export { SCHEDULER_MIGRATIONS, savePlan, latestPlan, saveInventory, listHosts, type HostInventory } from './plan-store.ts';
export { PlacementState, type PlacementRequest, type PlacementDecision } from './placement.ts';
export * from './cost/index.ts';
export { estimateMigration, migrationSeconds, migrationCostWh, hostWatts, wattsPerCore, powerOffBenefitWh, type MigrationCostModel, type MigrationEstimate } from './migration-cost.ts';
export { POLICY_DEFAULTS } from './policy.ts';
export { placeRequest, type VmPlacementRequest, type PlacementOutcome } from './place-request.ts';
