import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { planSeriesRows } from '../../cli/plan-series.ts';
import { runPlanningCycle, type CycleResult } from '../../cli/planning-cycle.ts';
import { migrate, PROJECT_ROOT, questdbTable, topicSpecs, topicsFor } from '../../core/index.ts';
import { runFleet, SamplePublisher, SyntheticFleet, type FleetSource, type FleetTick } from '../../ingest/index.ts';
import { DEFAULT_POLICY } from '../../scheduler/index.ts';
import {
  ANOMALY_TABLE, createSampleWorker, dropSampleTables, ensureSampleTables, PIPELINE_STATS_TABLE, PLAN_SERIES_TABLES, rollupViews, SAMPLE_TABLES,
  SERIES_TABLES, waitForRollups, writePlanSeries, type SampleWorker,
} from '../../streams/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { busFor, eventually, isolatedConfig, questdbFor, testLogger } from './harness.ts';

/** What the test reads of a dashboard: Grafana's own JSON model, nothing added for the test. */
interface Target { refId: string; rawSql: string; format?: string }
interface Override { matcher: { id: string; options: string } }
interface Panel {
  title: string;
  type: string;
  interval?: string;
  targets?: Target[];
  fieldConfig?: { overrides?: Override[] };
  transformations?: { id: string; options: { indexByName?: Record<string, number> } }[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query: string }[] };
  annotations?: { list: { name: string; target: Target }[] };
}

const STEP = 300_000;
const STEPS = 72; // six hours of five-minute samples: the planner's forecaster reads five
const SPIKE = { vmIndex: 0, fromStep: STEPS - 4 };

/**
 * The demo's synthetic fleet, except that its first VM runs flat out for the last steps: an
 * incident for the worker's own detector to find (and Grafana to annotate).
 */
class FleetWithIncident implements FleetSource {
  constructor(private readonly inner: SyntheticFleet) {}
  get hosts() { return this.inner.hosts; }
  get vms() { return this.inner.vms; }
  get stepMs() { return this.inner.stepMs; }
  get steps() { return this.inner.steps; }
  tick(step: number, ts: number): FleetTick {
    const t = this.inner.tick(step, ts);
    if (step >= SPIKE.fromStep) {
      const vm = t.vms[SPIKE.vmIndex]!;
      t.vms[SPIKE.vmIndex] = { ...vm, cpuUsedCores: vm.vcpus, memUsedBytes: vm.memTotalBytes };
    }
    return t;
  }
}

const dashboardsDir = join(PROJECT_ROOT, 'grafana', 'dashboards');
const dashboards = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).sort()
  .map((file) => ({ file, json: JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as Dashboard }));

/** Grafana's postgres datasource renders $__timeFrom()/$__timeTo() as quoted RFC 3339 UTC times, whole seconds. */
const grafanaTime = (ms: number) => `'${new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')}'`;
const isNumeric = (v: unknown) => typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v));

describe('every Grafana dashboard query, on the tables the pipeline and the planner fill (real Kafka, QuestDB, PostgreSQL, libvirt test driver)', () => {
  const libvirtDir = mkdtempSync(join(tmpdir(), 'novacron-grafana-'));
  const config = isolatedConfig({
    LIBVIRT_URI_TEMPLATE: `test://${libvirtDir}/{host}.xml`,
    // A stats row a second, a detector that may alarm after two hours, and the example catalog so plans carry money.
    NOVACRON_PIPELINE_STATS_SECONDS: '1',
    NOVACRON_ANOMALY_PROBATION: '24',
    NOVACRON_CLOUD_CATALOG: join(PROJECT_ROOT, 'scheduler', 'cost', 'catalog.example.json'),
  });
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  const log = testLogger();
  const fleet = new FleetWithIncident(new SyntheticFleet({ hosts: 8, vmsPerHost: 6, seed: 11, stepMs: STEP }));
  const lastTs = Math.floor(Date.now() / STEP) * STEP;
  const firstTs = lastTs - (STEPS - 1) * STEP;
  // Four planning cycles, five minutes apart, the last at the newest samples.
  const cycleTimes = [3, 2, 1, 0].map((k) => lastTs - k * STEP);
  const cycles: CycleResult[] = [];
  let db: TempDatabase;
  let worker: SampleWorker | undefined;
  let workerStats = { stored: 0, deadLettered: 0, anomalies: 0 };
  const table = (name: string) => questdbTable(config, name);
  const knownTables = new Set<string>([...Object.values(SAMPLE_TABLES), ANOMALY_TABLE, ...SERIES_TABLES, ...rollupViews(config).map((v) => v.name.slice(config.questdb.tablePrefix.length))]);

  before(async () => {
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
    await bus.ensureTopics(topicSpecs(config, 2));
    await ensureSampleTables(config, questdb);
    // The worker the `worker` command runs: Avro decode, DLQ, QuestDB, anomaly scoring, pipeline_stats.
    worker = await createSampleWorker(config, bus, log, { processMetrics: false });
    await worker.start();
    const producer = await bus.producer();
    const sent = await runFleet(fleet, new SamplePublisher(producer, topics), { startTs: firstTs, steps: STEPS, paceMs: 0, malformedEvery: 97 })
      .finally(() => producer.close());
    const w = worker;
    await eventually(async () => w.stats.stored + w.stats.deadLettered, (n) => n >= sent.vmSamples + sent.hostSamples + sent.malformed, 120_000);
    for (const t of [SAMPLE_TABLES.vm, SAMPLE_TABLES.host, ANOMALY_TABLE]) await questdb.waitForWalApplied(table(t));
    await waitForRollups(config, questdb, 60_000);

    // The live planning cycle, as `./novacron plan` runs it: snapshot → planFleet → PostgreSQL → dry run → vm_forecasts, plan_savings.
    for (const now of cycleTimes) cycles.push(await runPlanningCycle({ config, questdb, pool: db.pool, log, now, mirrorTestNodes: true }));

    // Stopping writes the worker's last stats row: the table then accounts for everything it did.
    await worker.stop();
    workerStats = { ...worker.stats };
    worker = undefined;
    for (const t of SERIES_TABLES) await questdb.waitForWalApplied(table(t));
  });

  after(async () => {
    // Each step runs even when an earlier one fails.
    const steps = [
      () => worker?.stop(),
      () => bus.deleteTopics(Object.values(topics)),
      () => dropSampleTables(config, questdb),
      () => db?.drop(),
      async () => rmSync(libvirtDir, { recursive: true, force: true }),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch(() => undefined);
    // Nothing of this test may stay behind in QuestDB: tables and views under its prefix.
    const left = await questdb.query<{ table_name: string }>(`select table_name from tables() where table_name like '${config.questdb.tablePrefix}%'`).catch(() => []);
    await questdb.close();
    assert.deepEqual(left.map((r) => r.table_name), [], 'every table and view the test created is dropped');
  });

  it('the worker filled pipeline_stats with rows that add up to what it did', async (t) => {
    const [sums] = await questdb.query<{ rows: string; stored: string; dead: string; anomalies: string; workers: string }>(
      `select count() rows, sum(samples_stored) stored, sum(dead_lettered) dead, sum(anomalies) anomalies, count_distinct(worker_id) workers from ${table(PIPELINE_STATS_TABLE)}`);
    assert.ok(Number(sums!.rows) >= 2, `a row a second while the worker ran (got ${sums!.rows})`);
    t.diagnostic(`pipeline_stats: ${sums!.rows} rows; stored ${sums!.stored} (worker: ${workerStats.stored}), dead-lettered ${sums!.dead} (${workerStats.deadLettered}), anomalies ${sums!.anomalies} (${workerStats.anomalies})`);
    assert.equal(Number(sums!.workers), 1);
    assert.equal(Number(sums!.stored), workerStats.stored, 'the rows\' samples_stored add up to the samples the worker stored');
    assert.equal(Number(sums!.dead), workerStats.deadLettered);
    assert.equal(Number(sums!.anomalies), workerStats.anomalies);
    assert.ok(workerStats.deadLettered > 0 && workerStats.anomalies > 0, `the run dead-lettered (${workerStats.deadLettered}) and raised anomalies (${workerStats.anomalies})`);
  });

  it('every planning cycle wrote each VM\'s forecast band and the plan\'s savings, the band being the planner\'s own', async (t) => {
    const vms = fleet.vms.length;
    const count = async (t: string) => Number((await questdb.query<{ n: string }>(`select count() n from ${table(t)}`))[0]!.n);
    assert.equal(await count(PLAN_SERIES_TABLES.forecasts), vms * cycles.length);
    assert.equal(await count(PLAN_SERIES_TABLES.savings), cycles.length);

    // Writing a cycle again replaces its rows (DEDUP keys): a retried write never doubles the band.
    const last = cycles.at(-1)!;
    await writePlanSeries(config, questdb, planSeriesRows(last.planId, last.plan, last.snapshot, DEFAULT_POLICY));
    for (const t of [PLAN_SERIES_TABLES.forecasts, PLAN_SERIES_TABLES.savings]) await questdb.waitForWalApplied(table(t));
    assert.equal(await count(PLAN_SERIES_TABLES.forecasts), vms * cycles.length);
    assert.equal(await count(PLAN_SERIES_TABLES.savings), cycles.length);

    let moves = 0;
    for (const c of cycles) {
      const rows = await questdb.query<{ vm_id: string; cpu_p50: number; cpu_p90: number; cpu_p99: number; plan_id: string }>(
        `select vm_id, cpu_p50, cpu_p90, cpu_p99, plan_id from ${table(PLAN_SERIES_TABLES.forecasts)} where ts = $1`, [new Date(c.snapshot.takenAt + STEP).toISOString()]);
      assert.equal(rows.length, vms, 'one forecast per VM, for the interval after the snapshot');
      const byVm = new Map(rows.map((r) => [r.vm_id, r]));
      for (const r of rows) {
        assert.equal(Number(r.plan_id), c.planId);
        assert.ok(r.cpu_p50 <= r.cpu_p90 && r.cpu_p90 <= r.cpu_p99, `${r.vm_id}: p50 ≤ p90 ≤ p99`);
      }
      // A moved VM's migrate action carries its predicted p90, the quantile the planner packs on.
      for (const a of c.plan.actions) {
        if (a.kind !== 'migrate') continue;
        moves++;
        assert.ok(Math.abs(byVm.get(a.vmId)!.cpu_p90 - a.cpuCores) < 1e-9, `${a.vmId}: band p90 ${byVm.get(a.vmId)!.cpu_p90} = the plan's ${a.cpuCores}`);
      }
      const [s] = await questdb.query<{ watts: number; hosts_saved: string; monthly_savings: number | null; currency: string | null }>(
        `select watts, hosts_saved, monthly_savings, currency from ${table(PLAN_SERIES_TABLES.savings)} where plan_id = $1`, [c.planId]);
      assert.ok(Math.abs(s!.watts - c.plan.expectedSavings.watts) < 1e-9);
      assert.equal(Number(s!.hosts_saved), c.plan.hostsSaved);
      assert.equal(s!.currency, c.plan.cost?.summary.currency);
      assert.equal(s!.monthly_savings, c.plan.cost?.summary.monthlySavings.total);
    }
    t.diagnostic(`${cycles.length} cycles × ${vms} VMs forecast; plans: ${cycles.map((c) => `#${c.planId} hosts ${c.plan.hostsBefore}→${c.plan.hostsAfter}, ${Math.round(c.plan.expectedSavings.watts)} W`).join('; ')}; ${moves} migrate actions matched their band's p90`);
    assert.ok(moves > 0, 'the lightly loaded fleet is consolidated, so the p90 check compared something');
  });

  /**
   * What Grafana's postgres datasource sends: its macros and the dashboard's variables expanded
   * ($prefix, the table prefix, set to this test's). Fails on anything left unexpanded or a table
   * the test does not know it filled.
   */
  const expand = (sql: string, vars: { interval: string; prefix?: string; host?: string; vm?: string }) => {
    const out = sql
      .replaceAll('$__timeFrom()', grafanaTime(firstTs - STEP))
      .replaceAll('$__timeTo()', grafanaTime(Math.max(Date.now(), lastTs) + 2 * STEP))
      .replace(/\$__interval\b/g, vars.interval)
      .replace(/\$\{?(prefix|host|vm)\}?/g, (_m, name: 'prefix' | 'host' | 'vm') => {
        assert.ok(vars[name] !== undefined, `$${name} used where no value is set`);
        return vars[name]!;
      });
    assert.doesNotMatch(out, /\$/, `only macros and variables the test expands: ${out}`);
    for (const [, name] of out.matchAll(/\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_]*)/gi)) {
      assert.ok(name!.startsWith(config.questdb.tablePrefix) && knownTables.has(name!.slice(config.questdb.tablePrefix.length)), `a dashboard reads ${name} (not under $prefix, or nothing in this test fills it)`);
    }
    return out;
  };

  /** Rows, each column non-NULL somewhere, in Grafana's shape for the format. */
  const checkShape = (rows: Record<string, unknown>[], target: Target, where: string): string[] => {
    assert.ok(rows.length > 0, `${where}: no rows`);
    const columns = Object.keys(rows[0]!);
    for (const c of columns) assert.ok(rows.some((r) => r[c] !== null), `${where}: column ${c} is NULL in every row`);
    if (target.format !== 'table') {
      assert.ok(columns.includes('time'), `${where}: a time series names its time column "time" (got ${columns.join(', ')})`);
      const values = columns.filter((c) => c !== 'time' && c !== 'metric');
      assert.ok(values.length > 0, `${where}: at least one value column`);
      for (const r of rows) {
        assert.ok(r.time instanceof Date, `${where}: time is a timestamp`);
        for (const c of values) assert.ok(r[c] === null || isNumeric(r[c]), `${where}: ${c} is numeric (got ${String(r[c])})`);
        if ('metric' in r) assert.equal(typeof r.metric, 'string', `${where}: metric names the series`);
      }
      const times = rows.map((r) => (r.time as Date).getTime());
      assert.deepEqual(times, [...times].sort((a, b) => a - b), `${where}: rows in time order`);
    }
    return columns;
  };

  for (const { file, json } of dashboards) {
    describe(file, () => {
      // Template variables take the first value their own query offers, as Grafana does on load.
      const vars: { prefix?: string; host?: string; vm?: string } = {};
      it('template variables list values that exist', async () => {
        for (const v of json.templating?.list ?? []) {
          // The table prefix is typed in, not queried: this test's own.
          if (v.type === 'textbox' && v.name === 'prefix') {
            vars.prefix = config.questdb.tablePrefix;
            continue;
          }
          const rows = await questdb.query<Record<string, string>>(expand(v.query, { interval: '5m', ...vars }));
          assert.ok(rows.length > 0, `$${v.name} has no values`);
          assert.equal(Object.keys(rows[0]!).length, 1, `$${v.name}: one column of values`);
          vars[v.name as 'host' | 'vm'] = Object.values(rows[0]!)[0]!;
        }
      });

      for (const a of json.annotations?.list ?? []) {
        it(`annotation "${a.name}" returns time, text and tags`, async () => {
          const rows = await questdb.query(expand(a.target.rawSql, { interval: '5m', ...vars }));
          assert.deepEqual(checkShape(rows, a.target, a.name), ['time', 'text', 'tags']);
        });
      }

      for (const panel of json.panels) {
        it(`"${panel.title}": every target returns rows of the panel's shape`, async () => {
          const seen = new Set<string>();
          // The shortest interval Grafana would use here, and a coarse one (a long range).
          for (const interval of [panel.interval ?? '5m', '1h']) {
            for (const target of panel.targets ?? []) {
              const where = `${file} "${panel.title}" ${target.refId} at ${interval}`;
              const rows = await questdb.query(expand(target.rawSql, { interval, ...vars }));
              const columns = checkShape(rows, target, where);
              columns.forEach((c) => seen.add(c));
              // A table panel's organize transform names every column, in order: the query must return exactly those.
              const order = panel.transformations?.find((t) => t.id === 'organize')?.options.indexByName;
              if (panel.type === 'table') {
                assert.ok(order, `${where}: table panels name their columns (organize transform)`);
                assert.deepEqual(columns, Object.entries(order!).sort((x, y) => x[1] - y[1]).map(([c]) => c), `${where}: the columns the panel names`);
              }
            }
          }
          // Overrides address fields by name: each must be a column some target returns.
          for (const o of panel.fieldConfig?.overrides ?? []) {
            if (o.matcher.id === 'byName') assert.ok(seen.has(o.matcher.options), `"${panel.title}": override for ${o.matcher.options}, which no target returns`);
          }
        });
      }
    });
  }

  it('the VM panel draws the forecast band: p50 ≤ p90 ≤ p99 beside the actual samples', async () => {
    const band = dashboards.flatMap((d) => d.json.panels).find((p) => p.targets?.some((t) => /vm_forecasts/.test(t.rawSql) && /\$vm/.test(t.rawSql)) && p.type === 'timeseries');
    assert.ok(band, 'a time series panel reads vm_forecasts for $vm');
    const vm = fleet.vms[SPIKE.vmIndex]!.vmId;
    const results = await Promise.all(band.targets!.map((t) => questdb.query<Record<string, unknown>>(expand(t.rawSql, { interval: band.interval ?? '5m', prefix: config.questdb.tablePrefix, vm, host: fleet.vms[SPIKE.vmIndex]!.hostId }))));
    const bandRows = results.find((rows) => rows.length > 0 && 'p90' in rows[0]!);
    assert.ok(bandRows && results.some((rows) => rows.length > 0 && 'actual' in rows[0]!), 'one target gives the actual CPU, one the band');
    assert.equal(bandRows.length, cycles.length, 'one band point per planning cycle');
    for (const r of bandRows) assert.ok((r.p50 as number) <= (r.p90 as number) && (r.p90 as number) <= (r.p99 as number));
  });
});
