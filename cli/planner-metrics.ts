// The planner's (`./novacron plan --every S`) Prometheus metrics: what its cycles did, counted as
// they run, and plans by execution state read from PostgreSQL at scrape time (the executor and
// people move plans on; the planner only proposes them).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { executionStateCounts, PLAN_STATES } from '../actuators/index.ts';
import { NovaError, type PgPool } from '../core/index.ts';
import type { CycleResult } from './planning-cycle.ts';

/** A cycle reads history, forecasts every VM and plans: seconds at small fleets, minutes at 100k VMs. */
const CYCLE_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class PlannerMetrics {
  readonly registry = new Registry();
  readonly cycles: Counter<'outcome'>;
  readonly cycleSeconds: Histogram;
  readonly lastCycle: Gauge;
  readonly actions: Counter<'kind'>;
  readonly errors: Counter<'code'>;

  constructor(pool: PgPool, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.cycles = new Counter({ name: 'novacron_planner_cycles_total', help: 'Planning cycles run, by outcome (ok, failed)', labelNames: ['outcome'], registers });
    this.cycleSeconds = new Histogram({ name: 'novacron_planner_cycle_seconds', help: 'Duration of one planning cycle: snapshot, forecast, plan, store, dry run', buckets: CYCLE_SECONDS_BUCKETS, registers });
    this.lastCycle = new Gauge({ name: 'novacron_planner_last_cycle_timestamp_seconds', help: 'When the last successful cycle ended (Unix seconds); alert when it falls behind', registers });
    this.actions = new Counter({ name: 'novacron_planner_actions_total', help: 'Actions in the plans produced, by kind (migrate, power-off)', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'novacron_planner_errors_total', help: 'Cycles that failed (forecast, planning, store, dry run), by error code', labelNames: ['code'], registers });
    // Every label value from the start, so rate() and alerts work before the first event.
    for (const outcome of ['ok', 'failed']) this.cycles.inc({ outcome }, 0);
    for (const kind of ['migrate', 'power-off']) this.actions.inc({ kind }, 0);
    new Gauge({
      name: 'novacron_planner_plans', help: 'Plans in each execution state (PostgreSQL)', labelNames: ['state'], registers,
      async collect() {
        const { plans } = await executionStateCounts(pool);
        for (const state of PLAN_STATES) this.set({ state }, plans[state]);
      },
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'novacron_planner_' });
  }

  cycleDone(result: CycleResult, seconds: number): void {
    this.cycles.inc({ outcome: 'ok' });
    this.cycleSeconds.observe(seconds);
    this.lastCycle.set(Date.now() / 1000);
    for (const a of result.plan.actions) this.actions.inc({ kind: a.kind });
  }

  cycleFailed(err: unknown, seconds: number): void {
    this.cycles.inc({ outcome: 'failed' });
    this.cycleSeconds.observe(seconds);
    this.errors.inc({ code: err instanceof NovaError ? err.code : 'PLANNER_CYCLE_FAILED' });
  }
}
