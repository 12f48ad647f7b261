import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../core/index.ts';
import { NovaError } from '../core/index.ts';
import type { ActionPlan, PlacementOutcome, VmPlacementRequest } from '../scheduler/index.ts';
import { apiLogger, authHook, DEFAULT_KEY_CACHE_MS, KeyVerifier } from './auth.ts';
import { errorHandler } from './errors.ts';
import { docsPage } from './docs-page.ts';
import { registerKeyRoutes } from './key-routes.ts';
import type { ApiKeyStore } from './keys.ts';
import { registerPlanRoutes, type PlansPort } from './plans.ts';
import { errorResponses, errorSchema, planProperties } from './schemas.ts';

/** What the routes read; the composition root wires these to PostgreSQL and the servers. */
export interface ApiDeps {
  latestPlan(): Promise<(ActionPlan & { id: number }) | null>;
  listHosts(): Promise<object[]>;
  dryRunsForPlan(planId: number): Promise<object[]>;
  /** Decides where a new VM goes (on-prem host or cloud offer) against the current inventory. */
  placeVm(request: VmPlacementRequest): Promise<PlacementOutcome>;
  /** Each dependency's state: 'ok' or what is wrong with it. */
  health(): Promise<Record<string, string>>;
  /** Plans and their execution: list, show, approve, reject, execute. */
  plans: PlansPort;
  /** API keys and the audit of refused requests. */
  keys: ApiKeyStore;
  /** How long a verified key is trusted before the store is asked again (default 30 s): the longest a revocation made elsewhere takes to bite. */
  keyCacheMs?: number;
  logger: Logger;
}

/** Largest request body any route takes (POST /v1/placements with a long allowedHosts list); plan routes take far less. */
export const BODY_LIMIT = 256 * 1024;

/** Security requirement of the authenticated routes: a bearer key, or the same key in X-Api-Key. */
const SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }];

/** Builds the HTTP API (not listening yet): thin routes over the deps, every /v1 route behind a key with a role. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const log = apiLogger(deps.logger);
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'API_ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}; GET /openapi.json lists the routes`, retriable: false }));

  // Every /v1 route must say which role it needs; the role also goes into the OpenAPI document.
  app.addHook('onRoute', (route) => {
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

  const verifier = new KeyVerifier(deps.keys, log, deps.keyCacheMs ?? DEFAULT_KEY_CACHE_MS);
  app.decorateRequest('caller', null);
  app.addHook('onRequest', authHook(verifier, deps.keys));
  // Answers to authenticated calls (a new key's secret among them) are for the caller only.
  app.addHook('onSend', async (req, reply) => {
    if (req.caller) void reply.header('cache-control', 'no-store');
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'NovaCron API',
        version: '0.2.0',
        description: 'Fleet inventory, consolidation recommendations, plans and their approval and execution, placements, health. ' +
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

  app.get('/healthz', {
    schema: {
      summary: 'Liveness and dependency health (public: no key needed)',
      security: [],
      response: { 200: { type: 'object', additionalProperties: true }, 503: { type: 'object', additionalProperties: true } },
    },
  }, async (_req, reply) => {
    const checks = await deps.health();
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks });
  });

  app.get('/v1/hosts', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Hosts known from their latest samples, with their current VM count and predicted demand',
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 }, offset: { type: 'integer', minimum: 0, default: 0 } } },
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
    const plan = await deps.latestPlan();
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
          vmId: { type: 'string', minLength: 1, maxLength: 128 },
          vcpus: { type: 'number', exclusiveMinimum: 0, maximum: 1024 },
          memBytes: { type: 'integer', exclusiveMinimum: 0 },
          expectedCpuCores: { type: 'number', minimum: 0, description: 'predicted p95 CPU in cores; vcpus when absent' },
          allowedHosts: { type: 'array', items: { type: 'string', maxLength: 255 }, maxItems: 10000 },
          allowedProviders: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 32 },
          allowedRegions: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 256 },
          allowedZones: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 1024 },
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
  registerKeyRoutes(app, deps.keys, verifier);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html').send(docsPage(app.swagger() as OpenApiLike)));
  return app;
}

export interface OpenApiLike {
  info: { title: string; version: string };
  paths: Record<string, Record<string, { summary?: string; 'x-required-role'?: string }>>;
}
