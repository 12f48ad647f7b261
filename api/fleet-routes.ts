import type { FastifyInstance } from 'fastify';
import { NovaError } from '../core/index.ts';
import { entityIdSchema, errorResponses, MAX_PAGE, nextOffsetSchema, pageQuery } from './schemas.ts';

/** A VM as its latest sample shows it. */
export interface VmRow {
  vmId: string;
  hostId: string;
  lastSeen: Date;
  cpuUsedCores: number;
  vcpus: number;
  memUsedBytes: number;
  memTotalBytes: number;
}

/** One anomaly event the streams worker raised. */
export interface AnomalyRow {
  at: Date;
  hostId: string;
  vmId: string;
  metric: string;
  value: number;
  expected: number;
  score: number;
  explanation: string;
}

/** One plan's expected savings, and whether its execution went through. */
export interface SavingsRow {
  planId: number;
  createdAt: Date;
  hostsSaved: number;
  watts: number | null;
  kWh: number | null;
  netKWh: number | null;
  horizonHours: number | null;
  monthlySavings: number | null;
  currency: string | null;
  /** The plan's execution state; null when it was never proposed. */
  state: string | null;
}

/** One horizon of a forecast: when, and the model's quantiles (p50, p90, p99) there. */
export interface ForecastPoint {
  horizonMinutes: number;
  at: Date;
  [quantile: `p${number}`]: number;
}

/** One five-minute step of what a VM used (null: no sample in that step). */
export interface ActualPoint {
  at: Date;
  value: number | null;
}

/** A VM's forecast band: CPU (cores) and memory (bytes) at each of the model's horizons. */
export interface VmForecastBand {
  vmId: string;
  hostId: string;
  model: { name: string; version: number };
  /** Time of the last five-minute step the forecast starts from. */
  origin: Date;
  cpu: ForecastPoint[];
  mem: ForecastPoint[];
  /** What the VM used over the longest horizon (6 h) up to origin, step by step: what the hindcast is judged against. */
  actual: { cpu: ActualPoint[]; mem: ActualPoint[] };
  /** The same model's band made one longest horizon before origin, on the history up to then; null when that history is too short. */
  hindcast: { origin: Date; cpu: ForecastPoint[]; mem: ForecastPoint[] } | null;
}

/** What the fleet read routes call: QuestDB (VMs, anomalies) and PostgreSQL (plans). Each returns at most `limit` rows. */
export interface FleetReads {
  vms(q: { limit: number; offset: number; hostId?: string; seenWithinHours: number }): Promise<VmRow[]>;
  anomalies(q: { limit: number; offset: number; vmId?: string; hostId?: string; from: Date; to: Date }): Promise<AnomalyRow[]>;
  savings(q: { limit: number; beforePlanId?: number; from?: Date; to?: Date }): Promise<SavingsRow[]>;
  /** The serving quantile model's forecast of one VM; throws VM_NOT_FOUND, FORECAST_MODEL_NOT_FOUND or FORECAST_HISTORY_TOO_SHORT. */
  forecast(vmId: string): Promise<VmForecastBand>;
}

const DAY_MS = 86_400_000;
/** Anomalies may be asked over at most this window (a bounded scan of a time-partitioned table). */
export const MAX_ANOMALY_WINDOW_DAYS = 31;

const dateTime = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** Fetches one row more than asked, to tell whether another page follows. */
function paged<T>(rows: T[], limit: number, offset: number): { rows: T[]; nextOffset: number | null } {
  return { rows: rows.slice(0, limit), nextOffset: rows.length > limit ? offset + limit : null };
}

/** Read routes over the running fleet (viewer): VMs, anomalies, savings over time. */
export function registerFleetRoutes(app: FastifyInstance, fleet: FleetReads): void {
  app.get('/v1/vms', {
    config: { role: 'viewer' },
    schema: {
      summary: 'VMs seen recently, by id, each as its latest sample shows it (host, CPU used, vCPUs, memory)',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...pageQuery(100),
          hostId: { ...entityIdSchema, description: 'only the VMs on this host' },
          seenWithinHours: { type: 'integer', minimum: 1, maximum: 24 * 31, default: 24, description: 'only VMs with a sample this recent' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            vms: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  vmId: { type: 'string' }, hostId: { type: 'string' }, lastSeen: { type: 'string', format: 'date-time' },
                  cpuUsedCores: { type: 'number' }, vcpus: { type: 'number' }, memUsedBytes: { type: 'number' }, memTotalBytes: { type: 'number' },
                },
              },
            },
            nextOffset: nextOffsetSchema,
          },
        },
        ...errorResponses(),
      },
    },
  }, async (req) => {
    const q = req.query as { limit: number; offset: number; hostId?: string; seenWithinHours: number };
    const { rows, nextOffset: next } = paged(await fleet.vms({ ...q, limit: q.limit + 1 }), q.limit, q.offset);
    return { vms: rows.map((v) => ({ ...v, lastSeen: iso(v.lastSeen) })), nextOffset: next };
  });

  const bandSchema = {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: true,
      properties: {
        horizonMinutes: { type: 'number' }, at: { type: 'string', format: 'date-time' },
        p50: { type: 'number', description: 'median' }, p90: { type: 'number' }, p99: { type: 'number' },
      },
    },
  } as const;
  const actualSchema = {
    type: 'array',
    items: { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, value: { type: 'number', nullable: true, description: 'mean of the step\'s samples; null: no sample' } } },
  } as const;
  app.get('/v1/vms/:vmId/forecast', {
    config: { role: 'viewer' },
    schema: {
      summary: "A VM's forecast band from the serving quantile model (./novacron train): p50, p90 and p99 of its CPU (cores) and memory (bytes) 5 minutes to 6 hours ahead, from its last two days of samples; with what the VM used over the last 6 hours and the band the same model gave 6 hours ago (hindcast), to judge it by",
      params: { type: 'object', additionalProperties: false, required: ['vmId'], properties: { vmId: entityIdSchema } },
      response: {
        200: {
          type: 'object',
          properties: {
            vmId: { type: 'string' }, hostId: { type: 'string' },
            model: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' } } },
            origin: { type: 'string', format: 'date-time', description: 'the last five-minute step the forecast starts from' },
            cpu: { ...bandSchema, description: 'cores, within [0, vcpus]' },
            mem: { ...bandSchema, description: 'bytes, within [0, memory size]' },
            actual: {
              type: 'object',
              description: 'what the VM used, per five-minute step, over the longest horizon (6 h) up to origin (the steps the hindcast covers)',
              properties: { cpu: { ...actualSchema, description: 'cores' }, mem: { ...actualSchema, description: 'bytes' } },
            },
            hindcast: {
              type: 'object',
              nullable: true,
              description: 'the same model\'s band made one longest horizon before origin, from the history up to then: its last horizon is origin, so it can be judged against actual; null when that earlier history is too short',
              properties: { origin: { type: 'string', format: 'date-time' }, cpu: bandSchema, mem: bandSchema },
            },
          },
        },
        ...errorResponses(404, 422),
      },
    },
  }, async (req) => {
    const { vmId } = req.params as { vmId: string };
    const band = await fleet.forecast(vmId);
    const points = (ps: ForecastPoint[]) => ps.map((p) => ({ ...p, at: iso(p.at) }));
    const actuals = (ps: ActualPoint[]) => ps.map((p) => ({ at: iso(p.at), value: p.value }));
    return {
      ...band,
      origin: iso(band.origin),
      cpu: points(band.cpu),
      mem: points(band.mem),
      actual: { cpu: actuals(band.actual.cpu), mem: actuals(band.actual.mem) },
      hindcast: band.hindcast && { origin: iso(band.hindcast.origin), cpu: points(band.hindcast.cpu), mem: points(band.hindcast.mem) },
    };
  });

  app.get('/v1/anomalies', {
    config: { role: 'viewer' },
    schema: {
      summary: `Anomaly events (newest first) in a time window of at most ${MAX_ANOMALY_WINDOW_DAYS} days (default: the last 24 hours), optionally of one VM or host`,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...pageQuery(100),
          vmId: { ...entityIdSchema, description: 'only this VM' },
          hostId: { ...entityIdSchema, description: 'only VMs on this host' },
          from: { ...dateTime, description: 'start of the window (inclusive); default: 24 hours before `to`' },
          to: { ...dateTime, description: 'end of the window (exclusive); default: now' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            anomalies: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  at: { type: 'string', format: 'date-time' }, hostId: { type: 'string' }, vmId: { type: 'string' }, metric: { type: 'string' },
                  value: { type: 'number' }, expected: { type: 'number' }, score: { type: 'number' }, explanation: { type: 'string' },
                },
              },
            },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            nextOffset: nextOffsetSchema,
          },
        },
        ...errorResponses(),
      },
    },
  }, async (req) => {
    const q = req.query as { limit: number; offset: number; vmId?: string; hostId?: string; from?: string; to?: string };
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - DAY_MS);
    if (!(from < to)) throw new NovaError('API_BAD_REQUEST', 'querystring.from must be before querystring.to', { details: { field: 'from' } });
    if (to.getTime() - from.getTime() > MAX_ANOMALY_WINDOW_DAYS * DAY_MS) {
      throw new NovaError('API_BAD_REQUEST', `querystring.from: the window from..to may span at most ${MAX_ANOMALY_WINDOW_DAYS} days; page through shorter windows`, { details: { field: 'from' } });
    }
    const rows = await fleet.anomalies({ limit: q.limit + 1, offset: q.offset, from, to, ...(q.vmId ? { vmId: q.vmId } : {}), ...(q.hostId ? { hostId: q.hostId } : {}) });
    const { rows: out, nextOffset: next } = paged(rows, q.limit, q.offset);
    return { anomalies: out.map((a) => ({ ...a, at: iso(a.at) })), from: iso(from), to: iso(to), nextOffset: next };
  });

  app.get('/v1/savings', {
    config: { role: 'viewer' },
    schema: {
      summary: "Savings over time: each plan's expected savings (hosts, watts, kWh over its horizon net of migration cost, monthly money savings of its cost section), newest first, with its execution state (succeeded = carried out)",
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100, description: `page size, 1 to ${MAX_PAGE}` },
          before: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'only plans with a smaller id: pass the previous page\'s nextBefore' },
          from: { ...dateTime, description: 'only plans made at or after this time' },
          to: { ...dateTime, description: 'only plans made before this time' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            savings: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  planId: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' }, hostsSaved: { type: 'integer' },
                  watts: { type: 'number', nullable: true }, kWh: { type: 'number', nullable: true }, netKWh: { type: 'number', nullable: true },
                  horizonHours: { type: 'number', nullable: true },
                  monthlySavings: { type: 'number', nullable: true, description: 'cost.summary.monthlySavings.total, in currency' },
                  currency: { type: 'string', nullable: true },
                  state: { type: 'string', nullable: true, description: 'execution state; null when never proposed' },
                },
              },
            },
            nextBefore: { type: 'integer', nullable: true, description: 'the before= of the next page; null on the last page' },
          },
        },
        ...errorResponses(),
      },
    },
  }, async (req) => {
    const q = req.query as { limit: number; before?: number; from?: string; to?: string };
    const rows = await fleet.savings({
      limit: q.limit + 1,
      ...(q.before !== undefined ? { beforePlanId: q.before } : {}),
      ...(q.from ? { from: new Date(q.from) } : {}),
      ...(q.to ? { to: new Date(q.to) } : {}),
    });
    const out = rows.slice(0, q.limit);
    return { savings: out.map((r) => ({ ...r, createdAt: iso(r.createdAt) })), nextBefore: rows.length > q.limit ? out.at(-1)!.planId : null };
  });
}
