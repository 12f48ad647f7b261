export { CATALOG_FORMAT_VERSION, parseCatalog, loadCatalogFile, instanceKey, instanceLabel, type CatalogInstance, type InstanceCatalog } from './catalog.ts';
export type { Pricing, InstanceRef, CloudConstraints, InstanceNeed, InstanceChoice, CloudVm } from './types.ts';
export { HOURS_PER_MONTH } from './format.ts';
export { instanceFits, offerAllowed, cheapestFit, findInstance, currentChoice, narrowConstraints } from './select.ts';
export {
  HOURS_PER_YEAR,
  powerWatts,
  amortizationPerHour,
  powerCostPerHour,
  hostCostPerHour,
  cloudCostPerHour,
  profileFor,
  priceFleet,
  type LoadPoint,
  type LoadCurve,
  type HostCostProfile,
  type HostProfiles,
  type HostCostBreakdown,
  type FleetPricingInput,
  type HostCostLine,
  type CloudCostLine,
  type FleetCost,
} from './model.ts';
export {
  DEFAULT_RIGHTSIZING_POLICY,
  RIGHTSIZING_ACTIONS,
  checkRightsizingPolicy,
  recommendRightsizing,
  rightsizeVm,
  sizeFor,
  type RightsizingPolicy,
  type RightsizingVm,
  type RightsizingRecommendation,
  type VmSize,
} from './rightsizing.ts';
export { cheapestPlacement, type CloudPlacementRequest, type CloudPlacementDecision } from './placement.ts';
export {
  DEFAULT_BURST_POLICY,
  capacityPolicy,
  onPremShortfall,
  suggestBurstOut,
  suggestRepatriation,
  type BurstPolicy,
  type BurstProfile,
  type OnPremLoad,
  type BurstOutInput,
  type BurstOutSuggestion,
  type BurstOutPlan,
  type RepatriationInput,
  type RepatriationSuggestion,
  type RepatriationPlan,
} from './burst.ts';
export { costContext, planCost, type CostContext, type PlanCost, type PlanCostSummary, type RightsizingSummary } from './plan-cost.ts';
export { validateCostInputs } from './cost-inputs.ts';
