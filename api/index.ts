export { buildApi, DEFAULT_BODY_LIMIT, type ApiDeps } from './server.ts';
export { DEFAULT_RATE_LIMIT_PER_MINUTE } from './rate-limit.ts';
export { CACHED_READ_ROUTES, DEFAULT_FORECAST_CACHE_MS, DEFAULT_READ_CACHE_MS, pagedListTtlMs, ReadCache } from './read-cache.ts';
export type { DependencyProbe } from './health.ts';
export type { StateCounts } from './metrics.ts';
export { MAX_ANOMALY_WINDOW_DAYS, type FleetReads, type VmForecastBand, type ForecastPoint, type ActualPoint, type VmRow, type AnomalyRow, type SavingsRow } from './fleet-routes.ts';
export type { ApiErrorBody } from './errors.ts';
export { DEFAULT_KEY_CACHE_MS, TOUCH_EVERY_MS, KeyVerifier, apiLogger, scrubUrl, type Caller } from './auth.ts';
export {
  API_MIGRATIONS,
  API_ROLES,
  KEY_NAME_RE,
  createApiKey,
  listApiKeys,
  revokeApiKey,
  pgApiKeyStore,
  parseApiKey,
  roleAllows,
  type ApiRole,
  type ApiKeyInfo,
  type ApiKeyStore,
  type AuthRefusal,
  type AuthRefusalRow,
} from './keys.ts';
export { MAX_PLAN_PAGE, PLAN_BODY_LIMIT, type PlansPort, type PlanSummary } from './plans.ts';
export { REVIEW_PATH, REVIEW_CSP } from './review-page/serve.ts';
