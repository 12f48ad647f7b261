import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../core/index.ts';
import { NovaError } from '../core/index.ts';
import type { ActionPlan, PlacementOutcome, VmPlacementRequest } from '../scheduler/index.ts';
import { errorHandler } from './errors.ts';
import { docsPage } from './docs-page.ts';

/** What the routes read; the composition root wires these to PostgreSQL and the servers. */
export interface ApiDeps {
  latestPlan(): Promise<(ActionPlan & { id: number }) | null>;
  listHosts(): Promise<object[]>;
  dryRunsForPlan(planId: number): Promise<object[]>;
  /** Decides where a new VM goes (on-prem host or cloud offer) against the current inventory. */
  placeVm(request: VmPlacementRequest): Promise<PlacementOutcome>;
  /** Each dependency's state: 'ok' or what is wrong with it. */
  health(): Promise<Record<string, string>>;
  logger: Logger;
}

const errorSchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, retriable: { type: 'boolean' } },
  required: ['code', 'message', 'retriable'],
} as const;

const actionSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    kind: { type: 'string', enum: ['migrate', 'power-off'] },
    vmId: { type: 'string' }, fromHost: { type: 'string' }, toHost: { type: 'string' }, hostId: { type: 'string' },
    cpuCores: { type: 'number' }, memBytes: { type: 'number' }, reason: { type: 'string' },
    cause: { type: 'string' }, estimatedSeconds: { type: 'number' }, costWh: { type: 'number' }, wave: { type: 'integer' },
    savedWatts: { type: 'number' }, migrationCostWh: { type: 'number' },
  },
  required: ['kind', 'reason'],
} as const;

const costSchema = {
  type: 'object',
  additionalProperties: true,
  description:
    "The plan's cost recommendations (present when the planned snapshot carried cost inputs or VM memory histories; see scheduler/cost/README.md). " +
    'Prices are in summary.currency, from the configured instance catalog (NOVACRON_CLOUD_CATALOG); the example catalog\'s prices are illustrative.',
  properties: {
    rightsizing: {
      type: 'array',
      description: 'one recommendation per on-prem VM with enough CPU and memory history (size only: on-prem capacity is freed, money is saved when consolidation frees a host), then per cloud VM (offer and monthly savings)',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          vmId: { type: 'string' },
          location: { type: 'object', additionalProperties: true },
          action: { type: 'string', enum: ['keep', 'downsize', 'upsize', 'switch', 'no-fit', 'insufficient-data'] },
          current: { type: 'object', additionalProperties: true, description: 'vcpus, memBytes' },
          recommended: { type: 'object', nullable: true, additionalProperties: true, description: 'vcpus, memBytes: demand percentile plus headroom, rounded up' },
          recommendedInstance: { type: 'object', nullable: true, additionalProperties: true, description: 'cloud VMs: the cheapest allowed offer that fits (pricing on-demand or spot)' },
          monthlySavings: { type: 'number', nullable: true },
          reason: { type: 'string' },
        },
      },
    },
    burstOut: { type: 'object', nullable: true, additionalProperties: true, description: 'made only when the moves plan leaves VMs without a host or hosts overloaded: VMs to run in the cloud (suggestions, each with its offer, spot or on-demand, and price), horizon and monthly cost, what still does not fit' },
    repatriation: { type: 'object', nullable: true, additionalProperties: true, description: 'cloud VMs to bring back onto the fleet as the plan leaves it, each with its host and monthly savings; skipped ones with why' },
    summary: {
      type: 'object',
      additionalProperties: true,
      description: 'currency, catalogNote, monthlySavings by kind (rightsizing, repatriation, burstOut ≤ 0, total), rightsizing counts and on-prem vCPUs/bytes freed, burstOut and repatriation in brief, spot choices and what they save against on-demand',
      properties: {
        currency: { type: 'string', nullable: true },
        catalogNote: { type: 'string', nullable: true },
        monthlySavings: { type: 'object', additionalProperties: true, properties: { rightsizing: { type: 'number' }, repatriation: { type: 'number' }, burstOut: { type: 'number' }, total: { type: 'number' } } },
        rightsizing: { type: 'object', additionalProperties: true },
        burstOut: { type: 'object', additionalProperties: true },
        repatriation: { type: 'object', additionalProperties: true },
        spot: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

/** Builds the HTTP API (not listening yet): thin routes over the deps. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } } });
  app.setErrorHandler(errorHandler);
  await app.register(swagger, {
    openapi: {
      info: { title: 'NovaCron API', version: '0.1.0', description: 'Fleet inventory, consolidation recommendations and health.' },
    },
  });

  app.get('/healthz', {
    schema: {
      summary: 'Liveness and dependency health',
      response: { 200: { type: 'object', additionalProperties: true }, 503: { type: 'object', additionalProperties: true } },
    },
  }, async (_req, reply) => {
    const checks = await deps.health();
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', checks });
  });

  app.get('/v1/hosts', {
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
            id: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' },
            hostsBefore: { type: 'integer' }, hostsAfter: { type: 'integer' }, hostsSaved: { type: 'integer' },
            actions: { type: 'array', items: actionSchema },
            waves: { type: 'array', description: 'action indices that may run concurrently, wave after wave', items: { type: 'array', items: { type: 'integer' } } },
            expectedSavings: { type: 'object', additionalProperties: true, description: 'hosts, watts, kWh over the horizon, migration cost (Wh), net kWh' },
            risk: { type: 'object', additionalProperties: true, description: 'peak predicted utilisation, hosts over target, rule violations, migration seconds' },
            violations: { type: 'array', items: { type: 'object', additionalProperties: true } },
            deferred: { type: 'array', description: 'moves left for a later plan (budget or sequencing)', items: { type: 'object', additionalProperties: true } },
            cost: costSchema,
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
          allowedHosts: { type: 'array', items: { type: 'string' }, maxItems: 10000 },
          allowedProviders: { type: 'array', items: { type: 'string' } },
          allowedRegions: { type: 'array', items: { type: 'string' } },
          allowedZones: { type: 'array', items: { type: 'string' } },
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

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html').send(docsPage(app.swagger() as OpenApiLike)));
  return app;
}

export interface OpenApiLike {
  info: { title: string; version: string };
  paths: Record<string, Record<string, { summary?: string }>>;
}
