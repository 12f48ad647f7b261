import type { FastifyInstance } from 'fastify';
import { describeError } from '../core/index.ts';

/** A dependency check: resolves when the dependency answers, rejects (or hangs) when it does not. */
export type DependencyProbe = () => Promise<unknown>;

/** How often the dependencies are checked, and how long one check may take before it counts as down. */
export const DEFAULT_READINESS_INTERVAL_MS = 5_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

interface ProbeState {
  /** 'ok', 'not checked yet', or what is wrong. */
  status: string;
  checkedAt: number | null;
  /** A check still running (kafkajs retries its connection for a long time): no second one is started meanwhile. */
  inflight: Promise<void> | null;
}

/** What /readyz answers: every dependency's last known state and how old that knowledge is. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
  /** Seconds since the oldest of the last checks (null before the first round ended). */
  ageSeconds: number | null;
}

/**
 * Checks the API's dependencies in the background and keeps the answers, so /readyz costs no
 * dependency call however often it is polled (a load balancer probing every second, a benchmark)
 * and a slow dependency cannot make the probe itself slow.
 */
export class ReadinessChecker {
  private readonly states = new Map<string, ProbeState>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly probes: Readonly<Record<string, DependencyProbe>>,
    private readonly intervalMs = DEFAULT_READINESS_INTERVAL_MS,
    private readonly timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
    private readonly now: () => number = Date.now,
  ) {
    for (const name of Object.keys(probes)) this.states.set(name, { status: 'not checked yet', checkedAt: null, inflight: null });
  }

  /** Runs a first round (bounded by the probe timeout), then one every interval until stop(). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One round: every probe at once, each given at most the timeout. */
  async refresh(): Promise<void> {
    await Promise.all([...this.states.entries()].map(([name, state]) => this.check(name, state)));
  }

  snapshot(): Readiness {
    const checks: Record<string, string> = {};
    let oldest: number | null = null;
    let complete = true;
    for (const [name, s] of this.states) {
      checks[name] = s.status;
      if (s.checkedAt === null) complete = false;
      else oldest = oldest === null ? s.checkedAt : Math.min(oldest, s.checkedAt);
    }
    return {
      ready: Object.values(checks).every((v) => v === 'ok'),
      checks,
      ageSeconds: complete && oldest !== null ? Math.max(0, (this.now() - oldest) / 1000) : null,
    };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), this.intervalMs);
    // The checker alone must not keep a process alive.
    this.timer.unref();
  }

  private async check(name: string, state: ProbeState): Promise<void> {
    const timeoutMs = this.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), timeoutMs); });
    if (!state.inflight) {
      const started = this.now();
      state.inflight = this.probes[name]!().then(
        () => { state.status = 'ok'; },
        (err: unknown) => { state.status = describeError(err).slice(0, 500); },
      ).finally(() => {
        state.checkedAt = Math.max(started, state.checkedAt ?? 0);
        state.inflight = null;
      });
    }
    const outcome = await Promise.race([state.inflight.then(() => 'done' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      state.status = `no answer within ${timeoutMs} ms`;
      state.checkedAt = this.now();
    }
  }
}

/** Schema of the /readyz answer. */
const readinessSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready'] },
    message: { type: 'string', description: 'which dependencies are down and why' },
    down: { type: 'array', items: { type: 'string' }, description: 'names of the dependencies that are down' },
    checks: { type: 'object', additionalProperties: { type: 'string' }, description: "each dependency: 'ok', or what is wrong with it" },
    ageSeconds: { type: 'number', nullable: true, description: 'age of the oldest check (they refresh every few seconds)' },
  },
  required: ['status', 'checks', 'down'],
} as const;

/**
 * /healthz (liveness: the process answers, from memory only) and /readyz (the dependencies as
 * the background checker last saw them: 503 naming the ones that are down). Both are public and
 * not rate limited: orchestrators and load balancers poll them without a key.
 */
export function registerHealthRoutes(app: FastifyInstance, checker: ReadinessChecker): void {
  app.addHook('onReady', async () => checker.start());
  app.addHook('onClose', async () => checker.stop());

  app.get('/healthz', {
    config: { rateLimit: false },
    schema: {
      summary: 'Liveness (public): the process is up; answered from memory, no dependency is called',
      security: [],
      response: {
        200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] }, uptimeSeconds: { type: 'number' }, pid: { type: 'integer' } }, required: ['status', 'uptimeSeconds'] },
      },
    },
  }, async () => ({ status: 'ok', uptimeSeconds: Math.round(process.uptime() * 10) / 10, pid: process.pid }));

  app.get('/readyz', {
    config: { rateLimit: false },
    schema: {
      summary: 'Readiness (public): PostgreSQL, QuestDB and Kafka as the background checker last saw them (every few seconds); 503 naming the dependencies that are down',
      security: [],
      response: {
        200: readinessSchema,
        503: readinessSchema,
      },
    },
  }, async (_req, reply) => {
    const r = checker.snapshot();
    const down = Object.entries(r.checks).filter(([, v]) => v !== 'ok').map(([k]) => k);
    return reply.status(r.ready ? 200 : 503).send({
      status: r.ready ? 'ready' : 'not ready',
      ...(down.length > 0 ? { message: `not ready: ${down.map((d) => `${d} (${r.checks[d]})`).join('; ')}`, down } : { down: [] }),
      checks: r.checks,
      ageSeconds: r.ageSeconds,
    });
  });
}
