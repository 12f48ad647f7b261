import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../core/index.ts';
import { NovaError } from '../core/index.ts';
import type { PlacementOutcome, PlanReadOptions, StoredPlan, VmPlacementRequest } from '../scheduler/index.ts';
import { apiLogger, authHook, DEFAULT_KEY_CACHE_MS, KeyVerifier } from './auth.ts';
import { errorHandler } from './errors.ts';
import { refuseNonFinite } from './finite.ts';
import { docsPage } from './docs-page.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_READINESS_INTERVAL_MS, ReadinessChecker, registerHealthRoutes, type DependencyProbe } from './health.ts';
import { ApiMetrics, DEFAULT_STATE_REFRESH_MS, registerMetricsRoute, type StateCounts } from './metrics.ts';
import { DEFAULT_RATE_LIMIT_PER_MINUTE, registerRateLimit } from './rate-limit.ts';
import { registerKeyRoutes } from './key-routes.ts';
import { DEFAULT_FORECAST_CACHE_MS, registerReadCache } from './read-cache.ts';
import type { ApiKeyStore } from './keys.ts';
import { PLAN_DOCUMENT_READ, registerPlanRoutes, type PlansPort } from './plans.ts';
import { registerFleetRoutes, type FleetReads } from './fleet-routes.ts';
import { registerWhoamiRoute } from './whoami.ts';
import { registerReviewPage } from './review-page/serve.ts';
import { cloudNameSchema, entityIdSchema, errorResponses, errorSchema, LIMITS, MAX_OFFSET, MAX_PAGE, planProperties } from './schemas.ts';

/** What the routes read; the composition root wires these to PostgreSQL and the servers. */
export interface ApiDeps {
  latestPlan(opts?: PlanReadOptions): Promise<StoredPlan | null>;
  listHosts(): Promise<object[]>;
  dryRunsForPlan(planId: number): Promise<object[]>;
  /** Decides where a new VM goes (on-prem host or cloud offer) against the current inventory. */
  placeVm(request: VmPlacementRequest): Promise<PlacementOutcome>;
  /** A check of each dependency (PostgreSQL, QuestDB, Kafka): resolves when it answers. Run in the background for /readyz, never per request. */
  dependencies: Record<string, DependencyProbe>;
  /** Plans and actions counted by state, for /metrics (read in the background every stateRefreshMs). */
  stateCounts?: () => Promise<StateCounts>;
  /** Plans and their execution: list, show, approve, reject, execute. */
  plans: PlansPort;
  /** VMs, anomalies and savings over time. */
  fleet: FleetReads;
  /** API keys and the audit of refused requests. */
  keys: ApiKeyStore;
  /** How long a verified key is trusted before the store is asked again (default 30 s): the longest a revocation made elsewhere takes to bite. */
  keyCacheMs?: number;
  /** Requests a minute per API key (per address on public routes); 0 = no limit. Default 6000. */
  rateLimitPerMinute?: number;
  /** Largest request body of any route, bytes (routes may take less). Default 1 MiB. */
  bodyLimitBytes?: number;
  /** How often the dependencies are checked for /readyz (default 5 s), and how long one check may take (default 2 s). */
  readinessIntervalMs?: number;
  probeTimeoutMs?: number;
  /** How often plan and action counts are read for /metrics (default 15 s). */
  stateRefreshMs?: number;
  /** Longest age of a shared read answer served from memory (api/read-cache.ts), ms; 0 or absent = no cache. */
  readCacheMs?: number;
  /** Longest age of a cached forecast band, ms (default 60 s; only with readCacheMs). */
  forecastCacheMs?: number;
  logger: Logger;
}

/** Default of the largest request body (POST /v1/placements with a long allowedHosts list); plan and key routes take far less. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Security requirement of the authenticated routes: a bearer key, or the same key in X-Api-Key. */
const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

/** Builds the HTTP API (not listening yet): thin routes over the deps, every /v1 route behind a key with a role. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const log = apiLogger(deps.logger);
  const bodyLimit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'API_ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}; GET /openapi.json lists the routes`, retriable: false }));

  // Every /v1 route must say which role it needs; the role also goes into the OpenAPI document.
  app.addHook('onRoute', (route) => {
    // A route's own body limit may be smaller than the configured one, never larger.
    route.bodyLimit = Math.min(route.bodyLimit ?? bodyLimit, bodyLimit);
    if (!route.url.startsWith('/v1')) return;
    const role = route.config?.role;
    if (!role) throw new Error(`route ${route.method} ${route.url} declares no role (config.role): every /v1 route needs one`);
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    const roleNote = `Needs an API key with role ${role} or above.`;
    route.schema = <FastifySchema>{
      ...schema,
      security: SECURITY,
      'x-required-role': role,
      description: schema.description ? `${String(schema.description)} ${roleNote}` : roleNote,
      response: { ...errorResponses(), ...(schema.response as object | undefined) },
    };
  });

  // First hook: every request is timed, refused and rate-limited ones included.
  const metrics = new ApiMetrics(deps.stateCounts, log, deps.stateRefreshMs ?? DEFAULT_STATE_REFRESH_MS);
  metrics.instrument(app);
  const verifier = new KeyVerifier(deps.keys, log, deps.keyCacheMs ?? DEFAULT_KEY_CACHE_MS);
  app.decorateRequest('caller', null);
  app.addHook('onRequest', authHook(verifier, deps.keys));
  app.addHook('preHandler', refuseNonFinite);
  // Answers to authenticated calls (a new key's secret among them) are for the caller only.
  app.addHook('onSend', async (req, reply) => {
    if (req.caller) void reply.header('cache-control', 'no-store');
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'NovaCron API',
        version: '0.2.0',
        description: 'Fleet inventory (hosts, VMs, anomalies, forecast bands, savings over time), consolidation recommendations, plans and their approval and execution, placements; ' +
          'public liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics). Requests are rate limited per key (429 with Retry-After). ' +
          'Every /v1 route needs an API key (./novacron keys create --name NAME --role viewer|operator|admin), sent as Authorization: Bearer <key> or X-Api-Key: <key>; ' +
          'viewer reads, operator also approves, rejects and executes plans and places VMs, admin also manages keys. See docs/api.md.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer nck_<id>_<secret>' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'the same key, in X-Api-Key' },
        },
      },
    },
  });

  // Route hooks run after the authentication hook: the limiter counts per verified key (see rate-limit.ts).
  await registerRateLimit(app, deps.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE);

  // Before the routes: it attaches itself to the shared read routes as they are added.
  registerReadCache(app, { ttlMs: deps.readCacheMs ?? 0, forecastTtlMs: deps.forecastCacheMs ?? DEFAULT_FORECAST_CACHE_MS });
  registerHealthRoutes(app, new ReadinessChecker(deps.dependencies, deps.readinessIntervalMs ?? DEFAULT_READINESS_INTERVAL_MS, deps.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS));
  registerMetricsRoute(app, metrics);

  app.get('/v1/hosts', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Hosts known from their latest samples, with their current VM count and predicted demand',
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: MAX_PAGE }, offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 } } },
      response: { 200: { type: 'object', properties: { hosts: { type: 'array', items: { type: 'object', additionalProperties: true } }, total: { type: 'integer' } } }, 400: errorSchema },
    },
  }, async (req) => {
    const { limit, offset } = req.query as { limit: number; offset: number };
    const all = await deps.listHosts();
    return { hosts: all.slice(offset, offset + limit), total: all.length };
  });

  app.get('/v1/recommendations', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The latest plan: migrations, hosts to power off, expected savings, cost recommendations (rightsizing, burst-out, repatriation, spot), and the dry-run check of each action',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { include: { type: 'string', enum: ['actions', 'summary'], default: 'actions', description: 'summary: no actions, no dry runs, and of the cost section only its summary' } },
      },
      response: {
        200: {
          type: 'object',
          additionalProperties: true,
          properties: {
            ...planProperties,
            dryRun: { type: 'array', items: { type: 'object', additionalProperties: true } },
          },
        },
        400: errorSchema,
        404: errorSchema,
      },
    },
  }, async (req) => {
    const plan = await deps.latestPlan(PLAN_DOCUMENT_READ);
    if (!plan) throw new NovaError('PLAN_NOT_FOUND', 'no plan has been made yet; run the scheduler (e.g. ./novacron demo)');
    const { include } = req.query as { include: 'actions' | 'summary' };
    const base = { ...plan, createdAt: new Date(plan.createdAt).toISOString() };
    if (include === 'summary') return { ...base, actions: [], dryRun: [], ...(plan.cost ? { cost: { summary: plan.cost.summary } } : {}) };
    return { ...base, dryRun: await deps.dryRunsForPlan(plan.id) };
  });

  app.post('/v1/placements', {
    config: { role: 'operator' },
    schema: {
      summary: 'Where a new VM should run: the on-prem host that keeps predicted load under target, else the cheapest allowed cloud offer',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['vmId', 'vcpus', 'memBytes'],
        properties: {
          vmId: entityIdSchema,
          vcpus: { type: 'number', exclusiveMinimum: 0, maximum: LIMITS.vcpus, description: `1 to ${LIMITS.vcpus} (fractions allowed)` },
          memBytes: { type: 'integer', exclusiveMinimum: 0, maximum: LIMITS.memBytes, description: 'bytes, at most 64 TiB' },
          expectedCpuCores: { type: 'number', minimum: 0, maximum: LIMITS.vcpus, description: 'predicted p95 CPU in cores; vcpus when absent' },
          allowedHosts: { type: 'array', items: entityIdSchema, maxItems: LIMITS.allowedHosts },
          allowedProviders: { type: 'array', items: cloudNameSchema, maxItems: 32 },
          allowedRegions: { type: 'array', items: cloudNameSchema, maxItems: 256 },
          allowedZones: { type: 'array', items: cloudNameSchema, maxItems: 1024 },
          spotAllowed: { type: 'boolean' },
          target: { type: 'string', enum: ['on-prem', 'cloud', 'any'] },
        },
      },
      response: {
        200: { type: 'object', additionalProperties: true, properties: { target: { type: 'string', enum: ['host', 'cloud', 'none'] }, hostId: { type: 'string' }, instanceType: { type: 'string' }, pricePerHour: { type: 'number' }, reason: { type: 'string' } }, required: ['target', 'reason'] },
        400: errorSchema,
      },
    },
  }, async (req) => deps.placeVm(req.body as VmPlacementRequest));

  registerPlanRoutes(app, deps.plans);
  registerFleetRoutes(app, deps.fleet);
  registerKeyRoutes(app, deps.keys, verifier);
  registerWhoamiRoute(app);
  registerReviewPage(app);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html').send(docsPage(app.swagger() as OpenApiLike)));
  return app;
}

export interface OpenApiLike {
  info: { title: string; version: string };
  paths: Record<string, Record<string, { summary?: string; 'x-required-role'?: string }>>;
}
