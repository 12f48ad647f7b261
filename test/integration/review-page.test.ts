import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { proposeExecution } from '../../actuators/index.ts';
import { buildApi, createApiKey, REVIEW_CSP, REVIEW_PATH } from '../../api/index.ts';
import { apiDeps, apiOptionsFrom } from '../../cli/api-deps.ts';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { FORECAST_MODEL_NAME } from '../../cli/planning-cycle.ts';
import { migrate, questdbTable } from '../../core/index.ts';
import { forecast as models } from '../../models/index.ts';
import { savePlan, type ActionPlan, type PlannedAction } from '../../scheduler/index.ts';
import { dropSampleTables, ensureSampleTables, SAMPLE_TABLES } from '../../streams/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { busFor, isolatedConfig, questdbFor, testLogger } from './harness.ts';

/** Debian's chromium (./novacron test installs it); another build through NOVACRON_CHROMIUM. */
const CHROMIUM = process.env.NOVACRON_CHROMIUM ?? '/usr/bin/chromium';
const STEP = 300_000;

// The plan review page (/review) in real headless Chromium, against the real API on a random
// port over real PostgreSQL (plans, keys) and QuestDB (the VM samples behind the forecast).
describe('plan review page in headless Chromium (real API, PostgreSQL, QuestDB)', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  let db: TempDatabase;
  let api: Awaited<ReturnType<typeof buildApi>>;
  let browser: Browser;
  let base: string;
  const tokens = { operator: '', viewer: '' };
  let planId: number;
  let olderPlanId: number;
  const cspViolations: string[] = [];
  const contexts: BrowserContext[] = [];

  function plan(vms: string[], createdAt: number): ActionPlan {
    const actions: PlannedAction[] = [
      ...vms.map((vmId, i) => ({ kind: 'migrate' as const, vmId, fromHost: 'h-src', toHost: 'h-dst', cpuCores: 1, memBytes: 2 ** 30, reason: `${vmId} leaves h-src so it can power off`, wave: i })),
      { kind: 'power-off' as const, hostId: 'h-src', reason: 'h-src is empty after the moves', savedWatts: 120 },
    ];
    return {
      createdAt, policy: { cpuTargetUtilization: 0.8, memTargetUtilization: 0.9 }, actions, hostsBefore: 2, hostsAfter: 1, hostsSaved: 1, loadAfter: [], unplaced: [],
      waves: vms.map((_, i) => [i]).concat([[vms.length]]),
      expectedSavings: { hosts: 1, watts: 120, horizonHours: 24, kWh: 2.88, migrationCostWh: 6, netKWh: 2.874 },
      risk: {
        peakCpu: { hostId: 'h-dst', utilization: 0.72, target: 0.8 }, peakMem: { hostId: 'h-dst', utilization: 0.5, target: 0.9 },
        hostsOverTarget: [], hostsOverloaded: [], maintenanceNotEvacuated: [], mustViolations: 0, shouldViolations: 0, migrationSeconds: 40, durationSeconds: 25, nonConverging: [],
      },
    };
  }

  /** A fresh tab (own sessionStorage), recording CSP violations and every URL it requests. */
  async function newPage(): Promise<{ page: Page; urls: string[] }> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const urls: string[] = [];
    page.on('request', (r) => void urls.push(r.url()));
    page.on('console', (m) => { if (/Content[- ]Security[- ]Policy/i.test(m.text())) cspViolations.push(m.text()); });
    page.on('pageerror', (e) => void cspViolations.push(`page error: ${e.message}`));
    await page.goto(`${base}${REVIEW_PATH}`);
    return { page, urls };
  }

  async function signIn(page: Page, token: string, role: string): Promise<void> {
    await page.fill('#key', token);
    await page.click('#signin-button');
    await page.waitForSelector(`#who-role:text("${role}")`);
    await page.waitForSelector(`#plan-list tbody tr[data-plan-id="${planId}"]`);
  }

  const executionState = async (id: number) => (await db.pool.query<{ state: string }>('select state from plan_executions where plan_id = $1', [id])).rows[0]?.state;

  before(async () => {
    // A missing browser is a failure, not a skip: this test is the page's only end-to-end check.
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; ./novacron test installs it) or set NOVACRON_CHROMIUM to a Chromium binary`);
    }
    db = await createTempDatabase();
    await migrate(db.pool, ALL_MIGRATIONS);
    await ensureSampleTables(config, questdb);
    const older = plan(['vm-0'], Date.now() - 3_600_000);
    olderPlanId = await savePlan(db.pool, older);
    await proposeExecution(db.pool, olderPlanId, older.actions, older.actions.map(() => false), 'planner');
    // The newer proposal supersedes the older one, as the planner's do.
    const p = plan(['vm-1', 'vm-2'], Date.now());
    planId = await savePlan(db.pool, p);
    await proposeExecution(db.pool, planId, p.actions, p.actions.map(() => false), 'planner');
    tokens.operator = (await createApiKey(db.pool, 'review-operator', 'operator')).token;
    tokens.viewer = (await createApiKey(db.pool, 'review-viewer', 'viewer')).token;
    // Wired as ./novacron serve wires it (limits, table prefix, read cache from the configuration).
    api = await buildApi(apiDeps(db.pool, questdb, busFor(config), testLogger(), undefined, apiOptionsFrom(config)));
    await api.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    for (const step of [
      ...contexts.map((c) => () => c.close()),
      () => browser?.close(),
      () => api?.close(),
      () => dropSampleTables(config, questdb),
      () => questdb.close(),
      () => db?.drop(),
    ]) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('serves the page, its script and stylesheet with a strict CSP and nosniff; whoami is in the OpenAPI document, the page is not', async () => {
    const page = await fetch(`${base}/review`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('content-security-policy'), REVIEW_CSP);
    assert.match(REVIEW_CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(REVIEW_CSP, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline style');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
    for (const [file, type] of [['review.js', /^text\/javascript/], ['review.css', /^text\/css/]] as const) {
      const res = await fetch(`${base}/review/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get('content-type') ?? '', type, file);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', file);
    }
    const spec = await (await fetch(`${base}/openapi.json`)).json() as { paths: Record<string, Record<string, { 'x-required-role'?: string }>> };
    assert.equal(spec.paths['/v1/whoami']?.get?.['x-required-role'], 'viewer');
    assert.equal(spec.paths['/review'], undefined);

    const who = await fetch(`${base}/v1/whoami`, { headers: { 'x-api-key': tokens.viewer } });
    const body = await who.json() as Record<string, string>;
    assert.deepEqual(Object.keys(body).sort(), ['id', 'name', 'role']);
    assert.deepEqual([body.name, body.role, tokens.viewer.startsWith(`nck_${body.id}_`)], ['review-viewer', 'viewer', true]);
    assert.equal((await fetch(`${base}/v1/whoami`)).status, 401);
  });

  it('a wrong key shows the sign-in error with its code, and nothing is kept', async () => {
    const { page } = await newPage();
    // A real key's id with one character of its secret changed.
    const wrong = tokens.operator.slice(0, -1) + (tokens.operator.endsWith('a') ? 'b' : 'a');
    await page.fill('#key', wrong);
    await page.click('#signin-button');
    const error = await page.waitForSelector('#signin-error:not([hidden])');
    assert.match(await error.textContent() ?? '', /^API_UNAUTHENTICATED \(HTTP 401\): the API key is not valid/);
    assert.equal(await page.isVisible('#app'), false);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  it('a viewer key sees the plans but no approve, reject or execute button, and the approve route answers it 403', async () => {
    const { page } = await newPage();
    await signIn(page, tokens.viewer, 'viewer');
    await page.click(`button[data-plan-id="${planId}"]`);
    await page.waitForSelector(`#plan[data-plan-id="${planId}"][data-state="proposed"]`);
    for (const sel of ['#review', '#approve', '#reject', '#execute']) assert.equal(await page.isVisible(sel), false, `${sel} is not shown to a viewer`);
    const answer = await page.evaluate(async (id) => {
      const res = await fetch(`/v1/plans/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${sessionStorage.getItem('novacron.apiKey')}`, 'content-type': 'application/json' }, body: '{}' });
      return { status: res.status, body: await res.json() as { code: string; message: string } };
    }, planId);
    assert.equal(answer.status, 403);
    assert.equal(answer.body.code, 'API_FORBIDDEN');
    assert.match(answer.body.message, /needs role operator or above/);
    assert.equal(await executionState(planId), 'proposed');
  });

  it('an operator signs in, opens the plan, sees its actions, reasons, savings and risk, approves it and sees the state change (and PostgreSQL agrees)', async () => {
    const { page, urls } = await newPage();
    await signIn(page, tokens.operator, 'operator');
    const row = await page.$eval(`#plan-list tbody tr[data-plan-id="${planId}"]`, (tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.textContent));
    assert.deepEqual(row.slice(0, 2), [`#${planId}`, 'proposed']);
    assert.equal(row[3], '2 → 1');
    assert.equal(row[4], '1 host · 120 W · 2.87 kWh net over 24 h');
    assert.equal(row[5], 'peak CPU 72% (target 80%) · peak memory 50% (target 90%) · 0 overloaded · 0 over target · 0 must-rule violations');
    assert.equal(row[6], '3 proposed');
    assert.equal(await page.getAttribute(`#plan-list tbody tr[data-plan-id="${olderPlanId}"]`, 'data-state'), 'superseded');

    await page.click(`button[data-plan-id="${planId}"]`);
    await page.waitForSelector(`#plan[data-plan-id="${planId}"][data-state="proposed"]`);
    const actions = await page.$$eval('#actions tbody tr', (trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].map((c) => c.textContent)));
    assert.deepEqual(actions.map((a) => a.slice(0, 7)), [
      ['0', '0', 'migrate', 'vm-1', 'h-src → h-dst', 'vm-1 leaves h-src so it can power off', 'proposed'],
      ['1', '1', 'migrate', 'vm-2', 'h-src → h-dst', 'vm-2 leaves h-src so it can power off', 'proposed'],
      ['2', '2', 'power-off', '—', 'h-src → powered off', 'h-src is empty after the moves', 'proposed'],
    ]);
    for (const sel of ['#approve', '#reject', '#execute']) assert.equal(await page.isVisible(sel), true, `${sel} is offered to an operator`);

    // An error of the API is shown with its code: a rejection needs a reason.
    await page.click('#reject');
    const error = await page.waitForSelector('#error:not([hidden])');
    assert.match(await error.textContent() ?? '', /^API_BAD_REQUEST \(HTTP 400\): .*reason/);
    assert.equal(await executionState(planId), 'proposed');

    await page.fill('#reason', 'reviewed on the page');
    await page.click('#approve');
    await page.waitForSelector(`#plan[data-state="approved"]`);
    assert.match(await page.textContent('#review-message') ?? '', new RegExp(`plan ${planId} approved`));
    assert.equal(await page.textContent('#plan-state'), 'approved');
    await page.waitForSelector(`#plan-list tbody tr[data-plan-id="${planId}"][data-state="approved"]`);
    assert.equal(await page.isVisible('#approve'), false, 'an approved plan is not offered for approval again');
    assert.equal(await page.isVisible('#reject'), true, 'an approved plan that has not started can still be rejected');
    const events = await page.$$eval('#events tbody tr', (trs) => trs.map((tr) => [...(tr as HTMLTableRowElement).cells].slice(1).map((c) => c.textContent)));
    assert.deepEqual(events.filter((e) => e[0] === 'plan').at(-1), ['plan', 'proposed → approved', 'key:review-operator', 'reviewed on the page']);

    assert.equal(await executionState(planId), 'approved');
    const audit = await db.pool.query<{ actor: string; reason: string }>("select actor, reason from execution_events where plan_id = $1 and seq is null and to_state = 'approved'", [planId]);
    assert.deepEqual(audit.rows, [{ actor: 'key:review-operator', reason: 'reviewed on the page' }]);

    // The key stays in this tab's sessionStorage: never in a URL, a cookie or localStorage.
    assert.ok(urls.length > 5, `the page made its requests: ${urls.length}`);
    const secret = tokens.operator.slice('nck_0123456789abcdef_'.length); // the secret itself may contain "_"
    assert.ok(secret.length >= 20, 'the secret part is long enough to look for');
    const leaks = urls.filter((u) => u.includes(secret) || decodeURIComponent(u).includes(secret));
    assert.deepEqual(leaks, [], 'no URL carries the key');
    assert.deepEqual(await page.evaluate(() => [sessionStorage.getItem('novacron.apiKey') !== null, localStorage.length, document.cookie]), [true, 0, '']);
    // A reload keeps the tab signed in (sessionStorage outlives it); Sign out forgets the key at once.
    await page.reload();
    await page.waitForSelector(`#plan-list tbody tr[data-plan-id="${planId}"][data-state="approved"]`);
    assert.equal(await page.textContent('#who-name'), 'review-operator');
    await page.click('#sign-out');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.isVisible('#signin'), true);
  });

  it('draws a VM\'s forecast band against what the VM used (hindcast from 6 hours earlier), and shows API errors with their code', async () => {
    // An untrained network is enough to check the wiring end to end (api-fleet.test.ts checks the quantiles).
    const spec = { ...models.DEFAULT_SPEC, hidden: [8] };
    const model = { spec, weights: models.initMlp(models.featureCount(spec), [8], spec.horizons.length, spec.quantiles.length, spec.lags - 1, 7), shifts: {} };
    await models.registerModelVersion(db.pool, { name: FORECAST_MODEL_NAME, model, status: 'promoted', reason: 'test', backend: 'cpu', inferenceEngine: 'js', dataSummary: {}, metrics: {} });
    const last = Math.floor(Date.now() / STEP) * STEP - STEP;
    const points = Array.from({ length: 600 }, (_, i) => {
      const ts = last - (599 - i) * STEP;
      return { ts, cpu: 2 + 1.5 * Math.sin((2 * Math.PI * ts) / 86_400_000), mem: 4e9 + 1e9 * Math.cos((2 * Math.PI * ts) / 86_400_000) };
    });
    const vmTable = questdbTable(config, SAMPLE_TABLES.vm);
    const us = (ms: number) => `cast(${ms * 1000} as timestamp)`;
    await questdb.query(`insert into ${vmTable} (ts, host_id, vm_id, cpu_used_cores, vcpus, mem_used_bytes, mem_total_bytes) values ${points.map((p) => `(${us(p.ts)}, 'h-dst', 'vm-f', ${p.cpu}, 4, ${Math.round(p.mem)}, 8000000000)`).join(', ')}`);
    await questdb.waitForWalApplied(vmTable, 60_000);

    // The route's new fields: the actual series over the last 6 h, and the band made 6 h before origin.
    const res = await fetch(`${base}/v1/vms/vm-f/forecast`, { headers: { authorization: `Bearer ${tokens.viewer}` } });
    assert.equal(res.status, 200);
    const band = await res.json() as {
      origin: string; cpu: { at: string }[];
      actual: { cpu: { at: string; value: number | null }[]; mem: { at: string; value: number | null }[] };
      hindcast: { origin: string; cpu: { at: string; p50: number; p90: number; p99: number }[]; mem: unknown[] } | null;
    };
    assert.equal(band.origin, new Date(last).toISOString());
    assert.equal(band.actual.cpu.length, 73, 'six hours of five-minute steps, both ends included');
    assert.deepEqual([band.actual.cpu[0]!.at, band.actual.cpu.at(-1)!.at], [new Date(last - 72 * STEP).toISOString(), band.origin]);
    band.actual.cpu.forEach((p, i) => assert.ok(Math.abs(p.value! - points[points.length - 73 + i]!.cpu) < 1e-9, `actual cpu at ${p.at}`));
    assert.ok(band.hindcast, 'the history reaches far enough back for a hindcast');
    assert.equal(band.hindcast.origin, new Date(last - 72 * STEP).toISOString());
    assert.equal(band.hindcast.cpu.at(-1)!.at, band.origin, 'the hindcast\'s last horizon is the current origin');
    assert.equal(band.hindcast.mem.length, 5);
    // The same model on the history up to the hindcast origin (what the route reads: the last two days).
    const upTo = points.filter((p) => p.ts > Date.now() - 2 * 86_400_000 && p.ts <= last - 72 * STEP);
    const series = models.historiesToSeries([{ vmId: 'vm-f', hostId: 'h-dst', vcpus: 4, memTotalBytes: 8e9, points: upTo.map((p) => ({ ts: p.ts, cpuCores: p.cpu, memBytes: Math.round(p.mem) })) }]);
    const direct = (await models.forecastBatch(model, series, 'js')).forecasts.find((f) => f.id === 'fleet/vm-f/cpu')!;
    band.hindcast.cpu.forEach((p, j) => assert.ok(Math.abs(p.p50 - Math.min(Math.max(direct.quantiles[j]![0]!, 0), 4)) < 1e-6, `hindcast p50 at horizon ${j}`));

    const { page } = await newPage();
    await signIn(page, tokens.viewer, 'viewer');
    await page.fill('#vm', 'vm-nope');
    await page.click('#forecast-button');
    const error = await page.waitForSelector('#error:not([hidden])');
    assert.match(await error.textContent() ?? '', /^VM_NOT_FOUND \(HTTP 404\)/);

    await page.fill('#vm', 'vm-f');
    await page.click('#forecast-button');
    await page.waitForSelector('#forecast-mem svg path.actual');
    assert.equal(await page.isVisible('#error'), false, 'the earlier error is cleared');
    for (const chart of ['#forecast-cpu', '#forecast-mem']) {
      const drawn = await page.$eval(chart, (c) => ({
        actualSegments: (c.querySelector('path.actual')?.getAttribute('d') ?? '').split(/[ML]/).filter(Boolean).length,
        pastBands: c.querySelectorAll('path.band-past').length,
        nowBands: c.querySelectorAll('path.band-now').length,
        medians: c.querySelectorAll('path.median-past, path.median-now').length,
        judged: c.querySelector('p[data-judged]')?.getAttribute('data-judged'),
      }));
      assert.deepEqual(drawn, { actualSegments: 73, pastBands: 2, nowBands: 2, medians: 2, judged: '5' }, chart);
    }
    assert.match(await page.textContent('#forecast-meta') ?? '', /^vm-f on h-dst; model vm-demand v1/);
  });

  it('loaded and ran under its CSP without a violation', () => {
    assert.deepEqual(cspViolations, []);
  });
});
