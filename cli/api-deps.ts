import { pagedListTtlMs, pgApiKeyStore, ReadCache, type ApiDeps, type VmRow, type FleetReads, type ForecastPoint, type PlansPort, type StateCounts, type VmForecastBand } from '../api/index.ts';
import { forecast as models, type VmHistory } from '../models/index.ts';
import { FORECAST_MODEL_NAME } from './planning-cycle.ts';
import { ANOMALY_TABLE, SAMPLE_TABLES } from '../streams/index.ts';
import { NovaError, type Config, type Logger, type MessageBus, type PgPool, type QuestDbClient } from '../core/index.ts';
import { actionStateCounts, dryRunsForPlan, executionEvents, listExecutions, loadExecution, transitionPlan } from '../actuators/index.ts';
import { listHosts, loadAfterPage, loadCatalogFile, loadPlan, rightsizingPage, PlacementState, placeRequest, type HostInventory, type InstanceCatalog } from '../scheduler/index.ts';

/** The plan routes' port: the scheduler's plan store and the executor's state store. */
export function plansPort(pool: PgPool): PlansPort {
  return {
    list: async (opts) => {
      const rows = await listExecutions(pool, opts);
      const counts = await actionStateCounts(pool, rows.map((r) => r.planId));
      return rows.map((r) => ({ ...r, actions: counts.get(r.planId)! }));
    },
    // The API keeps the documents it serves (plans never change), so the store is read once per plan.
    load: (id, opts) => loadPlan(pool, id, opts),
    rightsizing: (id, page) => rightsizingPage(pool, id, page),
    loadAfter: (id, page) => loadAfterPage(pool, id, page),
    execution: (id) => loadExecution(pool, id),
    events: (id) => executionEvents(pool, id),
    transition: (id, to, actor, reason, expect) => transitionPlan(pool, id, to, actor, reason, expect),
  };
}

/** Options of the API's wiring beyond the servers it reads. */
export interface ApiWiringOptions {
  /** How long a verified API key is cached (default 30 s): the longest a revocation from elsewhere takes to bite. */
  keyCacheMs?: number;
  /** Requests a minute per API key (config api.rateLimitPerMinute); 0 = off. */
  rateLimitPerMinute?: number;
  /** Largest request body in bytes (config api.bodyLimitBytes). */
  bodyLimitBytes?: number;
  /** Prefix of the QuestDB tables (config questdb.tablePrefix; default none). */
  tablePrefix?: string;
  /** Longest age of shared read answers served from memory, ms (config api.readCacheMs; default 0 = none). */
  readCacheMs?: number;
  /** Longest age of a cached forecast band, ms (config api.forecastCacheMs). */
  forecastCacheMs?: number;
}

// QuestDB takes a timestamp as microseconds since the epoch; the Date comes from a validated date-time.
const micros = (d: Date) => `cast(${Math.trunc(d.getTime()) * 1000} as timestamp)`;
// Timestamps are read as epoch microseconds: the pg driver reads a TIMESTAMP as local time, which would shift it by the process's UTC offset.
const fromMicros = (us: string | number) => new Date(Math.floor(Number(us) / 1000));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** History read for one VM's forecast: the model's inputs reach a day back from each horizon (yesterday at the target). */
const FORECAST_LOOKBACK_MS = 2 * 86_400_000;
/** How long the serving model is kept in memory before the registry is asked again (a newly promoted version is served within this). */
const MODEL_CACHE_MS = 60_000;

/** A VM's forecast band from the serving quantile model, on its last two days of samples. */
function vmForecaster(pool: PgPool, questdb: QuestDbClient, vmTable: string): (vmId: string) => Promise<VmForecastBand> {
  let cached: { until: number; model: Promise<Awaited<ReturnType<typeof models.servingModel>>> } | undefined;
  const serving = () => {
    if (!cached || cached.until < Date.now()) {
      const model = models.servingModel(pool, FORECAST_MODEL_NAME);
      cached = { until: Date.now() + MODEL_CACHE_MS, model };
      // Only a model found is kept: the first promoted version is served as soon as it exists.
      model.then((m) => { if (!m) cached = undefined; }, () => { cached = undefined; });
    }
    return cached.model;
  };
  return async (vmId) => {
    const stored = await serving();
    if (!stored) throw new NovaError('FORECAST_MODEL_NOT_FOUND', `no forecast model "${FORECAST_MODEL_NAME}" is promoted yet: ./novacron train trains one on the fleet history and promotes it if it beats the baselines`);
    const since = Date.now() - FORECAST_LOOKBACK_MS;
    const rows = await questdb.query<{ host_id: string; ts_us: string; cpu_used_cores: number; vcpus: number; mem_used_bytes: string; mem_total_bytes: string }>(
      `select host_id, cast(ts as long) ts_us, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes from ${vmTable} where vm_id = $1 and ts > cast(${since * 1000} as timestamp) order by ts`,
      [vmId],
    );
    const last = rows.at(-1);
    if (!last) throw new NovaError('VM_NOT_FOUND', `VM ${vmId} has no sample in the last two days; GET /v1/vms lists the VMs seen`, { details: { vmId } });
    const history: VmHistory = {
      vmId, hostId: last.host_id, vcpus: last.vcpus, memTotalBytes: Number(last.mem_total_bytes),
      points: rows.map((r) => ({ ts: Math.floor(Number(r.ts_us) / 1000), cpuCores: r.cpu_used_cores, memBytes: Number(r.mem_used_bytes) })),
    };
    const { spec } = stored.model;
    const series = models.historiesToSeries([history]);
    // The hindcast: the same model one longest horizon earlier, on the history up to then; its
    // band ends at origin, over steps the VM has lived since, so it can be judged against them.
    const longest = spec.horizons.at(-1)!;
    const earlier = series.map((s) => ({ ...s, values: s.values.subarray(0, Math.max(0, s.values.length - longest)) }));
    const current = await models.forecastBatch(stored.model, series, 'js');
    const past = await models.forecastBatch(stored.model, earlier, 'js');
    const band = (forecasts: models.SeriesForecast[], from: models.RegularSeries[], kind: 'cpu' | 'mem', cap: number): ForecastPoint[] | null => {
      const f = forecasts.find((x) => x.id === `fleet/${vmId}/${kind}`);
      const s = from.find((x) => x.id === `fleet/${vmId}/${kind}`)!;
      if (!f) return null;
      const originSec = s.startSec + f.origin * spec.stepSec;
      // The model's quantiles, held within what the VM can use (as the planner does).
      const clamp = (v: number) => Math.min(Math.max(v, 0), cap);
      return spec.horizons.map((h, j) => ({
        horizonMinutes: (h * spec.stepSec) / 60,
        at: new Date((originSec + h * spec.stepSec) * 1000),
        ...Object.fromEntries(spec.quantiles.map((q, k) => [`p${Math.round(q * 100)}`, clamp(f.quantiles[j]![k]!)])),
      }) as ForecastPoint);
    };
    const tooShort = () => new NovaError('FORECAST_HISTORY_TOO_SHORT', `VM ${vmId} lacks ${spec.lags} five-minute samples in a row up to its latest one (${spec.lags * spec.stepSec / 60} minutes of history); its forecast needs them`, { details: { vmId } });
    const cpu = band(current.forecasts, series, 'cpu', history.vcpus);
    const mem = band(current.forecasts, series, 'mem', history.memTotalBytes);
    if (!cpu || !mem) throw tooShort();
    const pastCpu = band(past.forecasts, earlier, 'cpu', history.vcpus);
    const pastMem = band(past.forecasts, earlier, 'mem', history.memTotalBytes);
    const cpuSeries = series.find((x) => x.id === `fleet/${vmId}/cpu`)!;
    const end = cpuSeries.values.length - 1;
    const at = (i: number) => new Date((cpuSeries.startSec + i * spec.stepSec) * 1000);
    // CPU and memory come from the same samples, so both series share one grid.
    const actual = (kind: 'cpu' | 'mem') => {
      const s = series.find((x) => x.id === `fleet/${vmId}/${kind}`)!;
      const from = Math.max(0, end - longest);
      return Array.from(s.values.subarray(from, end + 1), (v, i) => ({ at: at(from + i), value: Number.isFinite(v) ? v : null }));
    };
    return {
      vmId, hostId: history.hostId, model: { name: stored.name, version: stored.version }, origin: at(end), cpu, mem,
      actual: { cpu: actual('cpu'), mem: actual('mem') },
      hindcast: pastCpu && pastMem ? { origin: at(end - longest), cpu: pastCpu, mem: pastMem } : null,
    };
  };
}

/** The fleet read routes' port: VMs and anomalies from QuestDB, savings from the plans in PostgreSQL. */
export function fleetReads(pool: PgPool, questdb: QuestDbClient, tablePrefix = '', readCacheMs = 0): FleetReads {
  const vmTable = `${tablePrefix}${SAMPLE_TABLES.vm}`;
  // The VM list is read whole and paged in memory (the API keeps each page's answer the rest of the TTL).
  const vmLists = new ReadCache<VmRow[]>(pagedListTtlMs(readCacheMs));
  const anomalyTable = `${tablePrefix}${ANOMALY_TABLE}`;
  return {
    forecast: vmForecaster(pool, questdb, vmTable),
    vms: async ({ limit, offset, hostId, seenWithinHours }) => {
      // Integers below are validated bounds (limit, offset, hours); the host id is a bound parameter.
      const read = async (range: string) => {
        const rows = await questdb.query<{ vm_id: string; host_id: string; ts_us: string; cpu_used_cores: number; vcpus: number; mem_used_bytes: string; mem_total_bytes: string }>(
          // ts stays inside (LATEST ON needs it) but is not returned: the driver would parse
          // every row's timestamp into a Date that ts_us already gives (16k rows per refresh).
          `select vm_id, host_id, ts_us, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes from (
             select vm_id, host_id, ts, cast(ts as long) ts_us, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes from ${vmTable}
             where ts > dateadd('h', -${Math.trunc(seenWithinHours)}, now()) latest on ts partition by vm_id
           ) ${hostId ? 'where host_id = $1' : ''} order by vm_id ${range}`,
          hostId ? [hostId] : [],
        );
        return rows.map((r) => ({ vmId: r.vm_id, hostId: r.host_id, lastSeen: fromMicros(r.ts_us), cpuUsedCores: r.cpu_used_cores, vcpus: r.vcpus, memUsedBytes: Number(r.mem_used_bytes), memTotalBytes: Number(r.mem_total_bytes) }));
      };
      if (vmLists.ttlMs <= 0) return read(`limit ${Math.trunc(offset)}, ${Math.trunc(offset + limit)}`);
      // Cached: the whole list once per TTL (one scan of the table), every page cut from it in memory.
      const all = await vmLists.get(`${seenWithinHours}|${hostId ?? ''}`, () => read(''));
      return all.slice(offset, offset + limit);
    },
    anomalies: async ({ limit, offset, vmId, hostId, from, to }) => {
      const params: string[] = [];
      const where = [`ts >= ${micros(from)}`, `ts < ${micros(to)}`];
      if (vmId) where.push(`vm_id = $${params.push(vmId)}`);
      if (hostId) where.push(`host_id = $${params.push(hostId)}`);
      const rows = await questdb.query<{ ts_us: string; host_id: string; vm_id: string; metric: string; value: number; expected: number; score: number; explanation: string }>(
        `select cast(ts as long) ts_us, host_id, vm_id, metric, value, expected, score, explanation from ${anomalyTable} where ${where.join(' and ')} order by ts desc, vm_id, metric limit ${Math.trunc(offset)}, ${Math.trunc(offset + limit)}`,
        params,
      );
      return rows.map((r) => ({ at: fromMicros(r.ts_us), hostId: r.host_id, vmId: r.vm_id, metric: r.metric, value: r.value, expected: r.expected, score: r.score, explanation: r.explanation ?? '' }));
    },
    savings: async ({ limit, beforePlanId, from, to }) => {
      const r = await pool.query<{ id: string; created_at: Date; hosts_saved: number; savings: Record<string, unknown> | null; monthly: unknown; currency: string | null; state: string | null }>(
        `select p.id, p.created_at, p.hosts_saved, p.explanation->'expectedSavings' savings,
                p.explanation->'cost'->'summary'->'monthlySavings'->'total' monthly, p.explanation->'cost'->'summary'->>'currency' currency, e.state
           from plans p left join plan_executions e on e.plan_id = p.id
          where ($1::bigint is null or p.id < $1) and ($2::timestamptz is null or p.created_at >= $2) and ($3::timestamptz is null or p.created_at < $3)
          order by p.id desc limit $4`,
        [beforePlanId ?? null, from ?? null, to ?? null, limit],
      );
      return r.rows.map((row) => ({
        planId: Number(row.id), createdAt: row.created_at, hostsSaved: row.hosts_saved,
        watts: num(row.savings?.watts), kWh: num(row.savings?.kWh), netKWh: num(row.savings?.netKWh), horizonHours: num(row.savings?.horizonHours),
        monthlySavings: num(row.monthly), currency: row.currency, state: row.state,
      }));
    },
  };
}

/** Plans (by execution state) and actions (by state), counted in PostgreSQL for /metrics. */
export async function stateCounts(pool: PgPool): Promise<StateCounts> {
  const [plans, actions] = await Promise.all([
    pool.query<{ state: string; n: string }>('select state, count(*) n from plan_executions group by state'),
    pool.query<{ state: string; n: string }>('select state, count(*) n from action_executions group by state'),
  ]);
  const byState = (rows: { state: string; n: string }[]) => Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  return { plans: byState(plans.rows), actions: byState(actions.rows) };
}

/** The API's limits and table prefix as the configuration sets them (serve and demo alike). */
export function apiOptionsFrom(config: Config): ApiWiringOptions {
  return {
    rateLimitPerMinute: config.api.rateLimitPerMinute, bodyLimitBytes: config.api.bodyLimitBytes, tablePrefix: config.questdb.tablePrefix,
    readCacheMs: config.api.readCacheMs, forecastCacheMs: config.api.forecastCacheMs,
  };
}

/** Wires the API's reads to PostgreSQL, and its readiness checks to every server it depends on. */
export function apiDeps(pool: PgPool, questdb: QuestDbClient, bus: MessageBus, logger: Logger, cloudCatalogPath?: string, options: ApiWiringOptions = {}): ApiDeps {
  let catalog: Promise<InstanceCatalog> | undefined;
  // The host inventory is read whole and paged in memory: one PostgreSQL read per list TTL, however many pages are asked.
  const hostList = new ReadCache<HostInventory[]>(pagedListTtlMs(options.readCacheMs ?? 0));
  const plans = plansPort(pool);
  return {
    plans,
    fleet: fleetReads(pool, questdb, options.tablePrefix, options.readCacheMs ?? 0),
    ...(options.readCacheMs !== undefined ? { readCacheMs: options.readCacheMs } : {}),
    ...(options.forecastCacheMs !== undefined ? { forecastCacheMs: options.forecastCacheMs } : {}),
    keys: pgApiKeyStore(pool),
    ...(options.keyCacheMs !== undefined ? { keyCacheMs: options.keyCacheMs } : {}),
    ...(options.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: options.rateLimitPerMinute } : {}),
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    placeVm: async (request) => {
      // Each host's current predicted load (from the latest plan's inventory) stands in for its VMs.
      const hosts = await listHosts(pool);
      const state = hosts.length === 0 ? null : new PlacementState({
        takenAt: Date.now(),
        hosts: hosts.map((h) => ({ hostId: h.hostId, cpuCores: h.cpuCores, memBytes: h.memBytes })),
        vms: hosts.filter((h) => h.vmCount > 0).map((h) => ({ vmId: `load:${h.hostId}`, hostId: h.hostId, cpuCores: h.cpuP95Cores, memBytes: h.memReservedBytes })),
      });
      if (cloudCatalogPath) catalog ??= loadCatalogFile(cloudCatalogPath);
      return placeRequest(state, request, catalog ? await catalog : undefined);
    },
    logger,
    // The newest id is one index lookup; the plan itself is read once (plans never change once stored).
    latestPlan: async (opts) => {
      const newest = await pool.query<{ id: string | null }>('select max(id) id from plans');
      return newest.rows[0]?.id ? plans.load(Number(newest.rows[0].id), opts) : null;
    },
    listHosts: () => hostList.get('hosts', () => listHosts(pool)),
    dryRunsForPlan: (planId) => dryRunsForPlan(pool, planId),
    // Run by the API's background readiness checker (every few seconds), never per request.
    dependencies: {
      postgres: () => pool.query('select 1'),
      questdb: () => questdb.query('select 1'),
      kafka: () => bus.ensureTopics([]),
    },
    stateCounts: () => stateCounts(pool),
  };
}
