export * from './types.ts';
export { quantile, ewma, alphaForHalfLife, inferStepMs, seasonalNaiveWindow, Z_95, type SeriesPoint, type EwmaState } from './baselines.ts';
export { forecastVm, MIN_EWMA_POINTS, type VmUsagePoint, type VmMeta, type ForecastOptions } from './forecaster.ts';
export { loadVmHistory, usageSteps, latestHostCpu, type VmHistory, type HistoryOptions, type UsageSteps } from './history.ts';
export { forecastFleet, type FleetForecastOptions } from './forecast-fleet.ts';
export * from './anomaly/index.ts';
export * as forecast from './forecast/index.ts';
