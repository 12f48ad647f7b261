import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ACTION_STATES, PLAN_STATES } from '../actuators/index.ts';
import { describeError, type Logger } from '../core/index.ts';

/** Plans (their execution) and their actions counted by state, as PostgreSQL holds them. */
export interface StateCounts {
  plans: Record<string, number>;
  actions: Record<string, number>;
}

/** How often plan and action counts are read from PostgreSQL for /metrics (never per scrape). */
export const DEFAULT_STATE_REFRESH_MS = 15_000;

/** Latency buckets (seconds): the API answers in milliseconds; the tail up to 10 s shows a stalled dependency. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const startedAt = Symbol('novacron.metrics.startedAt');
type Timed = FastifyRequest & { [startedAt]?: bigint };

/**
 * The API's Prometheus metrics, in a registry of its own (several APIs in one process — tests —
 * never clash, and other modules' registries stay theirs): request latency by route and status,
 * requests in flight, plans and actions by state (refreshed in the background), and Node's
 * process metrics.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requestSeconds: Histogram<'method' | 'route' | 'status_code'>;
  readonly inFlight: Gauge;
  readonly plans: Gauge<'state'>;
  readonly actions: Gauge<'state'>;
  readonly stateRefreshFailures: Gauge;
  readonly stateAge: Gauge;
  private lastStateRead: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly counts: (() => Promise<StateCounts>) | undefined,
    private readonly log: Logger,
    private readonly refreshMs = DEFAULT_STATE_REFRESH_MS,
  ) {
    const registers = [this.registry];
    this.requestSeconds = new Histogram({
      name: 'novacron_api_request_duration_seconds',
      help: 'Time from request received to response sent, by method, route pattern (unmatched for unknown paths) and status code',
      labelNames: ['method', 'route', 'status_code'], buckets: LATENCY_BUCKETS, registers,
    });
    this.inFlight = new Gauge({ name: 'novacron_api_requests_in_flight', help: 'Requests received and not yet answered', registers });
    this.plans = new Gauge({ name: 'novacron_plans', help: 'Plans proposed for execution, by execution state (read from PostgreSQL every few seconds)', labelNames: ['state'], registers });
    this.actions = new Gauge({ name: 'novacron_plan_actions', help: "Plans' actions, by execution state (read from PostgreSQL every few seconds)", labelNames: ['state'], registers });
    this.stateRefreshFailures = new Gauge({ name: 'novacron_api_state_refresh_failures', help: 'Consecutive failed reads of the plan and action counts (0 when the last read worked)', registers });
    const self = this;
    this.stateAge = new Gauge({
      name: 'novacron_api_state_age_seconds', help: 'Age of the plan and action counts served (-1 before the first read)', registers,
      collect() { this.set(self.lastStateRead === null ? -1 : (Date.now() - self.lastStateRead) / 1000); },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Reads the counts once; keeps the previous values when PostgreSQL does not answer. */
  async refreshStates(): Promise<void> {
    if (!this.counts) return;
    try {
      const c = await this.counts();
      // Every known state is exported, zero included: a state that empties must drop to 0, not vanish.
      for (const s of new Set([...PLAN_STATES, ...Object.keys(c.plans)])) this.plans.set({ state: s }, c.plans[s] ?? 0);
      for (const s of new Set([...ACTION_STATES, ...Object.keys(c.actions)])) this.actions.set({ state: s }, c.actions[s] ?? 0);
      this.stateRefreshFailures.set(0);
      this.lastStateRead = Date.now();
    } catch (err) {
      this.stateRefreshFailures.inc();
      this.log.warn({ err: describeError(err) }, 'could not read plan and action counts for /metrics');
    }
  }

  /** Reads the counts once (waiting at most 2 s for it: a slow PostgreSQL must not hold the API's start), then every refreshMs. */
  async start(): Promise<void> {
    this.stopped = false;
    const first = this.refreshStates().finally(() => this.schedule());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise((r) => { timer = setTimeout(r, 2000); })]);
    clearTimeout(timer);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped || !this.counts) return;
    this.timer = setTimeout(() => void this.refreshStates().finally(() => this.schedule()), this.refreshMs);
    this.timer.unref();
  }

  /** Hooks that time every request (added first, so refused and rate-limited requests count too). */
  instrument(app: FastifyInstance): void {
    const done = (req: FastifyRequest, reply: FastifyReply) => {
      const t0 = (req as Timed)[startedAt];
      if (t0 === undefined) return;
      (req as Timed)[startedAt] = undefined;
      this.inFlight.dec();
      // The route pattern, not the path: unknown paths collapse into one series (no label explosion).
      const route = req.routeOptions.url ?? 'unmatched';
      this.requestSeconds.observe({ method: req.method, route, status_code: String(reply.statusCode) }, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    app.addHook('onRequest', async (req) => {
      (req as Timed)[startedAt] = process.hrtime.bigint();
      this.inFlight.inc();
    });
    app.addHook('onResponse', async (req, reply) => done(req, reply));
    // A client that hangs up before the answer: no onResponse, but the request is no longer in flight.
    app.addHook('onRequestAbort', async (req) => {
      if ((req as Timed)[startedAt] === undefined) return;
      (req as Timed)[startedAt] = undefined;
      this.inFlight.dec();
    });
    app.addHook('onReady', async () => this.start());
    app.addHook('onClose', async () => this.stop());
  }
}

/** GET /metrics: public (see docs/api.md: counts and latencies only, no ids, no keys), rate limited per address. */
export function registerMetricsRoute(app: FastifyInstance, metrics: ApiMetrics): void {
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics (public): request latency by route and status, requests in flight, plans and actions by state, process metrics',
      security: [],
      produces: ['text/plain'],
      response: { 200: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } },
    },
  }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
