import { RIGHTSIZING_ACTIONS } from '../scheduler/index.ts';

/** JSON schemas shared by the routes (and so by the OpenAPI document). */

/**
 * Physical bounds of the inputs. Every input field is bounded (strings maxLength, arrays
 * maxItems, numbers minimum and maximum; api/bounds.test.ts walks the OpenAPI document and fails
 * on a field that is not): a number the planner would multiply or sum must stay finite and
 * meaningful, and JSON's 1e300 is an "integer" to a validator.
 */
export const LIMITS = {
  /** 64 TiB: more memory than any single VM or host has. */
  memBytes: 64 * 1024 ** 4,
  /** vCPUs of one VM (KVM's limit is in this range). */
  vcpus: 1024,
  /** Hosts a placement may be restricted to. */
  allowedHosts: 10_000,
} as const;

/** A host or VM id: what the agents and libvirt accept (letters, digits, . _ : @ -), at most 253 characters (a DNS name). */
export const entityIdSchema = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$' } as const;

/** A cloud provider, region or zone name, as the instance catalog spells them (e.g. aws, eu-west-1, eu-west-1a). */
export const cloudNameSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' } as const;

/** Body of every non-2xx answer. */
export const errorSchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, retriable: { type: 'boolean' } },
  required: ['code', 'message', 'retriable'],
} as const;

/** One planned action. */
export const actionSchema = {
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

/** A plan's cost section. */
export const costSchema = {
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
          action: { type: 'string', enum: [...RIGHTSIZING_ACTIONS] },
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

/** The error answers every authenticated route may give (plus what a route adds). */
export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries([400, 401, 403, 503, ...statuses].map((s) => [s, errorSchema]));
}

/** Path parameter of a numeric id: a positive integer JavaScript and PostgreSQL both hold exactly. */
export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'plan id (a positive integer)' } },
} as const;

/** Largest page of a list route, and how far an offset may reach. */
export const MAX_PAGE = 1000;
export const MAX_OFFSET = 1_000_000;

/** The limit and offset of a paged list route's query. */
export const pageQuery = (defaultLimit: number) => ({
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: defaultLimit, description: `page size, 1 to ${MAX_PAGE}` },
  offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'rows to skip: pass the previous page\'s nextOffset' },
});
/** What a paged list answers beside its rows. */
export const nextOffsetSchema = { type: 'integer', nullable: true, description: 'the offset of the next page; null on the last page' } as const;

/** A free-text reason recorded in the audit trail: bounded, and not blank. */
export const reasonSchema = { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' } as const;

/** A host's load after a plan. */
export const hostLoadSchema = {
  type: 'object',
  properties: {
    hostId: { type: 'string' }, cpuCores: { type: 'number' }, memBytes: { type: 'number' },
    cpuCapacity: { type: 'number' }, memCapacity: { type: 'number' }, vmCount: { type: 'integer' },
  },
} as const;

/** The stored plan's fields, as GET /v1/recommendations and GET /v1/plans/{id} serve them. */
export const planProperties = {
  id: { type: 'integer' },
  createdAt: { type: 'string', format: 'date-time' },
  hostsBefore: { type: 'integer' },
  hostsAfter: { type: 'integer' },
  hostsSaved: { type: 'integer' },
  actions: { type: 'array', items: actionSchema },
  waves: { type: 'array', description: 'action indices that may run concurrently, wave after wave', items: { type: 'array', items: { type: 'integer' } } },
  expectedSavings: { type: 'object', additionalProperties: true, description: 'hosts, watts, kWh over the horizon, migration cost (Wh), net kWh' },
  risk: { type: 'object', additionalProperties: true, description: 'peak predicted utilisation, hosts over target, hosts still overloaded, rule violations, migration seconds' },
  violations: { type: 'array', items: { type: 'object', additionalProperties: true } },
  deferred: { type: 'array', description: 'moves left for a later plan (over the migration budget)', items: { type: 'object', additionalProperties: true } },
  cost: costSchema,
  loadAfter: { type: 'array', description: 'the load after the plan of the hosts its actions move VMs from or to; GET /v1/plans/{id}/load-after pages every host', items: hostLoadSchema },
  loadAfterTotal: { type: 'integer', description: 'how many hosts run VMs after the plan (the whole load-after list)' },
  rightsizingTotal: { type: 'integer', description: 'how many rightsizing recommendations the plan has: cost.rightsizing holds the first 100, GET /v1/plans/{id}/rightsizing pages through them all' },
} as const;
