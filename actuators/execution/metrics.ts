// The executor's Prometheus metrics. What it did itself (action durations, failures by code) is
// counted as it happens; how many plans and actions are in each state is read from PostgreSQL at
// scrape time, because several executors share that state and each must report the same truth.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PgPool } from '../../core/index.ts';
import type { ActionOutcome } from './executor.ts';
import { ACTION_STATES } from './states.ts';
import { executionStateCounts } from './store.ts';

/** Migrations take seconds to minutes (a large guest, a slow link); power-offs up to a few minutes. */
const ACTION_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export class ExecutorMetrics {
  readonly registry = new Registry();
  readonly actionSeconds: Histogram<'kind' | 'outcome'>;
  readonly actionsFinished: Counter<'kind' | 'outcome'>;
  readonly failures: Counter<'code'>;

  /** `pool`: where the shared execution state is counted at scrape time. `processMetrics`: Node's own (once per process). */
  constructor(pool: PgPool, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.actionSeconds = new Histogram({
      name: 'novacron_executor_action_seconds', help: 'Wall time of one action this executor ran, by kind (migrate, power-off) and outcome',
      labelNames: ['kind', 'outcome'], buckets: ACTION_SECONDS_BUCKETS, registers,
    });
    this.actionsFinished = new Counter({ name: 'novacron_executor_actions_finished_total', help: 'Actions this executor finished, by kind and outcome', labelNames: ['kind', 'outcome'], registers });
    this.failures = new Counter({ name: 'novacron_executor_action_failures_total', help: 'Actions this executor failed, by error code', labelNames: ['code'], registers });
    // Scrape-time reads share one query per scrape (both gauges ask within the same collect pass).
    let pending: ReturnType<typeof executionStateCounts> | undefined;
    const counts = () => (pending ??= executionStateCounts(pool).finally(() => setTimeout(() => (pending = undefined), 0)));
    new Gauge({
      name: 'novacron_executor_actions', help: 'Actions in each state, every plan in PostgreSQL', labelNames: ['state'], registers,
      async collect() {
        const { actions } = await counts();
        for (const state of ACTION_STATES) this.set({ state }, actions[state]);
      },
    });
    new Gauge({
      name: 'novacron_executor_plans_executing', help: 'Plans in state running (being carried out by some executor)', registers,
      async collect() { this.set((await counts()).plans.running); },
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'novacron_executor_' });
  }

  /** Records one finished action (the executor's onAction hook). */
  observe(outcome: ActionOutcome): void {
    const labels = { kind: outcome.kind, outcome: outcome.state };
    this.actionSeconds.observe(labels, outcome.totalMs / 1000);
    this.actionsFinished.inc(labels);
    if (outcome.state === 'failed') this.failures.inc({ code: outcome.errorCode ?? 'EXECUTION_STEP_FAILED' });
  }
}
