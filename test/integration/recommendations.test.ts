import assert from 'node:assert/strict';
import { ALL_MIGRATIONS } from '../../cli/migrations.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApi, createApiKey } from '../../api/index.ts';
import { migrate, PROJECT_ROOT, questdbTable, topicsFor, topicSpecs, type PgPool } from '../../core/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { runFleet, SamplePublisher, SyntheticFleet } from '../../ingest/index.ts';
import { loadCatalogFile, loadPlan, parseSnapshot, planFleet, planToJson, rightsizingPage, savePlan, snapshotToJson, type ActionPlan, type FleetSnapshot } from '../../scheduler/index.ts';
import { dropSampleTables, ensureSampleTables, QuestDbSampleStore, SampleWorker } from '../../streams/index.ts';
import { apiDeps } from '../../cli/api-deps.ts';
import { runPlanningCycle } from '../../cli/planning-cycle.ts';
import { busFor, eventually, isolatedConfig, questdbFor, testLogger } from './harness.ts';

describe('fleet → Kafka → QuestDB → forecast → plan → API (all real servers)', () => {
  const libvirtDir = mkdtempSync(join(tmpdir(), 'novacron-libvirt-'));
  const config = isolatedConfig({ LIBVIRT_URI_TEMPLATE: `test://${libvirtDir}/{host}.xml` });
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  const log = testLogger();
  let db: TempDatabase;
  let pool: PgPool;
  let worker: SampleWorker;
  let api: Awaited<ReturnType<typeof buildApi>>;
  // Every /v1 route needs a key; an operator key also may POST /v1/placements.
  let apiKey: string;
  const call = (opts: { method: 'GET' | 'POST'; url: string; payload?: object }) => api.inject({ ...opts, headers: { authorization: `Bearer ${apiKey}` } });

  // Lightly loaded fleet: consolidation must find savings. 26 h so the seasonal baseline applies.
  const fleet = new SyntheticFleet({ hosts: 8, vmsPerHost: 6, seed: 11, stepMs: 300_000 });
  const steps = 26 * 12;
  const lastTs = Math.floor(Date.now() / 300_000) * 300_000;

  before(async () => {
    db = await createTempDatabase();
    pool = db.pool;
    await migrate(pool, ALL_MIGRATIONS);
    await bus.ensureTopics(topicSpecs(config, 2));
    await ensureSampleTables(config, questdb);
    worker = new SampleWorker({ bus, store: new QuestDbSampleStore(config), topics, groupId: `${topics.vmSamples}-g`, log });
    await worker.start();
    api = await buildApi(apiDeps(pool, questdb, bus, log, join(PROJECT_ROOT, 'scheduler', 'cost', 'catalog.example.json')));
    apiKey = (await createApiKey(pool, 'recommendations-test', 'operator')).token;
  });

  after(async () => {
    // Each step runs even when an earlier one fails (e.g. Kafka was unreachable in before()).
    const steps = [
      () => api?.close(),
      () => worker?.stop(),
      () => bus.deleteTopics(Object.values(topics)),
      () => dropSampleTables(config, questdb),
      () => questdb.close(),
      () => db?.drop(),
      async () => rmSync(libvirtDir, { recursive: true, force: true }),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('answers 404 with a code before any plan exists, and 400 naming the field for a bad query', async () => {
    const none = await call({ method: 'GET', url: '/v1/recommendations' });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().code, 'PLAN_NOT_FOUND');
    const bad = await call({ method: 'GET', url: '/v1/hosts?limit=abc' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'API_BAD_REQUEST');
    assert.equal(bad.json().field, 'limit');
    const unknown = await call({ method: 'GET', url: '/v1/recommendations?include=everything' });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().field, 'include');
  });

  it('serves a plan whose moves respect every host capacity', async () => {
    const producer = await bus.producer();
    const total = await runFleet(fleet, new SamplePublisher(producer, topics), { startTs: lastTs - (steps - 1) * 300_000, steps, paceMs: 0, malformedEvery: 0 })
      .finally(() => producer.close());
    await eventually(async () => worker.stats.stored, (n) => n >= total.vmSamples + total.hostSamples, 60_000);
    for (const t of ['vm_samples', 'host_samples']) await questdb.waitForWalApplied(questdbTable(config, t));

    const cycle = await runPlanningCycle({ config, questdb, pool, log, mirrorTestNodes: true });
    assert.equal(cycle.snapshot.vms.length, fleet.vms.length);
    assert.ok(cycle.snapshot.vms.every((v) => (v.cpuHistory?.length ?? 0) > 1), 'every VM is planned from its CPU history');
    // A production decision replays from its saved snapshot to the identical plan (what `plan --save-snapshot` then `--snapshot` do).
    assert.equal(planToJson(planFleet(parseSnapshot(snapshotToJson(cycle.snapshot)))), planToJson(cycle.plan));

    const res = await call({ method: 'GET', url: '/v1/recommendations' });
    assert.equal(res.statusCode, 200);
    const plan = res.json() as ActionPlan & { id: number; dryRun: { status: string }[] };
    assert.equal(plan.id, cycle.planId);
    assert.ok(plan.hostsAfter < plan.hostsBefore, `a lightly loaded fleet consolidates (${plan.hostsBefore} → ${plan.hostsAfter})`);
    assert.ok(plan.actions.some((a) => a.kind === 'migrate'));
    assert.equal(plan.dryRun.length, plan.actions.length);
    // Plans explain themselves: savings, risk and the execution waves come with the plan.
    assert.ok((plan.expectedSavings?.hosts ?? 0) > 0 && (plan.expectedSavings?.kWh ?? 0) > 0, 'expected savings are given');
    assert.ok(plan.risk && plan.risk.hostsOverTarget.length === 0 && plan.risk.mustViolations === 0, 'no host left over target, no rule broken');
    assert.deepEqual([...(plan.waves ?? []).flat()].sort((a, b) => a - b), plan.actions.flatMap((a, i) => (a.kind === 'migrate' ? [i] : [])).sort((a, b) => a - b), 'every migration is in exactly one wave');
    assert.ok(plan.dryRun.every((r) => r.status === 'ok'), 'every action passes the libvirt dry run');

    // Re-derive every host's load from the snapshot + the served moves, independently of the planner.
    const placement = new Map(cycle.snapshot.vms.map((v) => [v.vmId, v.hostId]));
    for (const a of plan.actions) if (a.kind === 'migrate') placement.set(a.vmId, a.toHost);
    const off = new Set(plan.actions.flatMap((a) => (a.kind === 'power-off' ? [a.hostId] : [])));
    for (const host of cycle.snapshot.hosts) {
      const vms = cycle.snapshot.vms.filter((v) => placement.get(v.vmId) === host.hostId);
      const cpu = vms.reduce((s, v) => s + v.cpuCores, 0);
      const mem = vms.reduce((s, v) => s + v.memBytes, 0);
      assert.ok(cpu <= host.cpuCores * plan.policy.cpuTargetUtilization + 1e-9, `${host.hostId}: predicted CPU ${cpu} within ${host.cpuCores} × ${plan.policy.cpuTargetUtilization}`);
      assert.ok(mem <= host.memBytes * plan.policy.memTargetUtilization, `${host.hostId}: memory ${mem} within capacity`);
      if (off.has(host.hostId)) assert.equal(vms.length, 0, `${host.hostId} is powered off only when empty`);
    }

    const hosts = await call({ method: 'GET', url: '/v1/hosts' });
    assert.equal(hosts.statusCode, 200);
    assert.equal(hosts.json().total, fleet.hosts.length);

    // Dependencies are reported by /readyz (checked in the background); /healthz is liveness only.
    const health = await call({ method: 'GET', url: '/readyz' });
    assert.equal(health.statusCode, 200);
    assert.deepEqual(health.json().checks, { postgres: 'ok', questdb: 'ok', kafka: 'ok' });

    // Placement of new VMs against the inventory the plan stored: on-prem first, then the cloud catalog.
    const place = (body: object) => call({ method: 'POST', url: '/v1/placements', payload: body });
    const small = await place({ vmId: 'new-1', vcpus: 2, memBytes: 4 * 1024 ** 3, expectedCpuCores: 0.5 });
    assert.equal(small.statusCode, 200);
    assert.equal(small.json().target, 'host');
    assert.ok(fleet.hosts.some((h) => h.hostId === small.json().hostId));
    const cloud = await place({ vmId: 'new-2', vcpus: 4, memBytes: 16 * 1024 ** 3, target: 'cloud', allowedProviders: ['aws'] });
    assert.equal(cloud.statusCode, 200);
    assert.equal(cloud.json().target, 'cloud');
    assert.equal(cloud.json().provider, 'aws');
    assert.ok(cloud.json().pricePerHour > 0 && /vCPU/.test(cloud.json().reason));
    const huge = await place({ vmId: 'new-3', vcpus: 500, memBytes: 4096 * 1024 ** 3 });
    assert.equal(huge.json().target, 'none');
    assert.match(huge.json().reason, /no on-prem host/);
    for (const [body, field] of [[{ vmId: 'x', vcpus: -1, memBytes: 1 }, 'vcpus'], [{ vmId: 'x', vcpus: 1 }, 'memBytes'], [{ vmId: 'x', vcpus: 1, memBytes: 1, gpu: 1 }, 'gpu']] as const) {
      const bad = await place(body);
      assert.equal(bad.statusCode, 400, JSON.stringify(body));
      assert.equal(bad.json().field, field);
    }

    const spec = await call({ method: 'GET', url: '/openapi.json' });
    assert.ok(spec.json().paths['/v1/recommendations']);
  });

  it('serves the plan\'s cost recommendations, stored with it, and documents them', async () => {
    // A plan made from a snapshot with cost inputs (what the live cycle passes once the catalog is wired in).
    const catalog = await loadCatalogFile(join(PROJECT_ROOT, 'scheduler', 'cost', 'catalog.example.json'));
    const GIB = 1024 ** 3;
    const ramp = (scale: number) => Array.from({ length: 48 }, (_, i) => (i / 48) * scale);
    const snapshot: FleetSnapshot = {
      takenAt: lastTs,
      hosts: [{ hostId: 'cost-h1', cpuCores: 8, memBytes: 32 * GIB }, { hostId: 'cost-h2', cpuCores: 8, memBytes: 32 * GIB }],
      vms: [
        { vmId: 'cost-big', hostId: 'cost-h1', cpuCores: 10, memBytes: 8 * GIB, vcpus: 16 }, // h1 short of CPU, and too big for any host
        { vmId: 'cost-idle', hostId: 'cost-h2', cpuCores: 0.4, memBytes: 16 * GIB, vcpus: 8, cpuHistory: ramp(0.4), memUsedHistory: ramp(2 * GIB) },
      ],
      cost: {
        catalog,
        burstable: { 'cost-big': { vcpus: 16 } },
        burst: { constraints: { allowedProviders: ['aws'], spotAllowed: true } },
        cloudVms: [{ vmId: 'cost-cloud', instance: { provider: 'aws', region: 'us-east-1', instanceType: 'm7i.2xlarge', pricing: 'on-demand' }, cpuCores: 0.5, memBytes: 8 * GIB }],
        hostProfiles: { default: { purchasePrice: 8000, lifetimeHours: 5 * 8760, power: { kind: 'linear', idleWatts: 100, maxWatts: 300 }, pricePerKWh: 0.2 } },
      },
    };
    const made = planFleet(snapshot);
    const id = await savePlan(pool, made);

    const res = await call({ method: 'GET', url: '/v1/recommendations' });
    assert.equal(res.statusCode, 200);
    const plan = res.json() as ActionPlan & { id: number };
    assert.equal(plan.id, id);
    assert.deepEqual(plan.cost, made.cost, 'the cost section comes back as planned');
    const cost = plan.cost!;
    assert.deepEqual(cost.rightsizing.map((r) => [r.vmId, r.action]), [['cost-idle', 'downsize'], ['cost-cloud', 'insufficient-data']]);
    assert.deepEqual(cost.burstOut?.suggestions.map((s) => [s.vmId, s.choice.pricing]), [['cost-big', 'spot']]);
    assert.equal(cost.repatriation?.suggestions.length, 0, 'nothing comes back while on-prem needs to burst');
    assert.equal(cost.summary.currency, 'USD');
    assert.match(cost.summary.catalogNote ?? '', /ILLUSTRATIVE/);
    assert.ok(cost.summary.monthlySavings.burstOut < 0 && cost.summary.spot.recommended === 1);

    const brief = await call({ method: 'GET', url: '/v1/recommendations?include=summary' });
    assert.deepEqual(brief.json().cost, { summary: made.cost!.summary });

    const spec = (await call({ method: 'GET', url: '/openapi.json' })).json();
    const costDoc = spec.paths['/v1/recommendations'].get.responses['200'].content['application/json'].schema.properties.cost;
    assert.deepEqual(Object.keys(costDoc.properties), ['rightsizing', 'burstOut', 'repatriation', 'summary']);
  });

  it('a plan document carries the first 100 rightsizing recommendations; the rest are paged, filtered by action', async () => {
    // One recommendation per VM with history: at fleet scale the list is megabytes, stored in rows of its own.
    const GIB = 1024 ** 3;
    const vms = Array.from({ length: 250 }, (_, i) => {
      const busy = i % 5 === 0; // every fifth VM uses its size (keep), the rest a sliver of it (downsize)
      const history = Array.from({ length: 48 }, (_, k) => (busy ? 3.5 : 0.3) + (k % 4) * 0.05);
      return { vmId: `rs-${String(i).padStart(3, '0')}`, hostId: `rs-h${i % 25}`, cpuCores: history.at(-1)!, memBytes: 4 * GIB, vcpus: 4, cpuHistory: history, memUsedHistory: history.map((c) => (c / 4) * 3.5 * GIB) };
    });
    const made = planFleet({ takenAt: lastTs, hosts: Array.from({ length: 25 }, (_, h) => ({ hostId: `rs-h${h}`, cpuCores: 64, memBytes: 256 * GIB })), vms });
    const all = made.cost!.rightsizing;
    assert.equal(all.length, 250);
    const id = await savePlan(pool, made);

    const doc = (await call({ method: 'GET', url: `/v1/plans/${id}` })).json();
    assert.equal(doc.rightsizingTotal, 250);
    assert.deepEqual(doc.cost.rightsizing, all.slice(0, 100), 'the first 100, in the plan\'s order');
    assert.deepEqual(Object.keys(doc.cost.rightsizing[0]), Object.keys(all[0]!), 'each read back with its fields in the planner\'s order');
    assert.deepEqual(doc.cost.summary, made.cost!.summary);
    const latest = (await call({ method: 'GET', url: '/v1/recommendations' })).json();
    assert.equal(latest.id, id);
    assert.equal(latest.cost.rightsizing.length, 100);

    const last = (await call({ method: 'GET', url: `/v1/plans/${id}/rightsizing?offset=200&limit=100` })).json();
    assert.deepEqual({ total: last.total, n: last.recommendations.length, next: last.nextOffset }, { total: 250, n: 50, next: null });
    assert.equal((await call({ method: 'GET', url: `/v1/plans/${id}/rightsizing?offset=100&limit=100` })).json().nextOffset, 200);
    assert.deepEqual(last.recommendations, all.slice(200));
    const downsizes = all.filter((r) => r.action === 'downsize');
    assert.ok(downsizes.length > 0 && downsizes.length < 250, `${downsizes.length} downsizes`);
    const filtered = (await call({ method: 'GET', url: `/v1/plans/${id}/rightsizing?action=downsize&limit=1000` })).json();
    assert.deepEqual(filtered.recommendations, downsizes);
    assert.equal(filtered.total, downsizes.length);

    // Whole for the executor and the CLI: loading without a limit gives the plan as planned.
    assert.deepEqual((await loadPlan(pool, id))!.cost, made.cost);

    assert.equal((await call({ method: 'GET', url: '/v1/plans/999999/rightsizing' })).statusCode, 404);
    // A plan stored before plan_rightsizing existed kept its list inside the explanation: paged from there.
    const legacyId = await savePlan(pool, made);
    await pool.query(`update plans set rightsizing_total = null, explanation = jsonb_set(explanation, '{cost,rightsizing}', $2::jsonb) where id = $1`, [legacyId, JSON.stringify(all.slice(0, 30))]);
    assert.deepEqual(await rightsizingPage(pool, legacyId, { limit: 10, offset: 25 }), { recommendations: all.slice(25, 30), total: 30 });
    const legacyDownsizes = all.slice(0, 30).filter((r) => r.action === 'downsize');
    assert.deepEqual(await rightsizingPage(pool, legacyId, { limit: 100, offset: 0, action: 'downsize' }), { recommendations: legacyDownsizes, total: legacyDownsizes.length });
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['action=shrink', 'action'], ['offset=-1', 'offset']] as const) {
      const bad = await call({ method: 'GET', url: `/v1/plans/${id}/rightsizing?${query}` });
      assert.equal(bad.statusCode, 400, query);
      assert.match(JSON.stringify(bad.json()), new RegExp(field), query);
    }
  });

  it('a plan document carries the load after it of the hosts its actions touch; every host\'s is paged from /load-after in stored order', async () => {
    const GIB = 1024 ** 3;
    // 10 idle hosts, consolidated onto a few of them, and 20 busy ones (CPU over the underload
    // line, memory too full to take a VM) that the plan leaves alone.
    const hosts = Array.from({ length: 30 }, (_, h) => ({ hostId: `la-h${String(h).padStart(2, '0')}`, cpuCores: 32, memBytes: 128 * GIB }));
    const busy = (i: number) => i % 3 !== 0;
    const vms = hosts.flatMap((h, i) => Array.from({ length: 2 }, (_, k) => ({ vmId: `${h.hostId}-vm${k}`, hostId: h.hostId, cpuCores: busy(i) ? 13 : 0.5, memBytes: (busy(i) ? 63 : 4) * GIB })));
    const made = planFleet({ takenAt: lastTs, hosts, vms });
    const moves = made.actions.filter((a) => a.kind === 'migrate');
    assert.ok(moves.length > 0, 'the plan moves VMs');
    const touched = new Set(moves.flatMap((a) => [a.fromHost, a.toHost]));
    const expected = made.loadAfter.filter((l) => touched.has(l.hostId));
    assert.ok(expected.length > 0 && expected.length < made.loadAfter.length, `${expected.length} of ${made.loadAfter.length} hosts touched`);
    const id = await savePlan(pool, made);

    const doc = (await call({ method: 'GET', url: `/v1/plans/${id}` })).json();
    assert.deepEqual(doc.loadAfter, expected, 'only the touched hosts, in the plan\'s order');
    assert.equal(doc.loadAfterTotal, made.loadAfter.length);

    const first = (await call({ method: 'GET', url: `/v1/plans/${id}/load-after?limit=7` })).json();
    assert.deepEqual({ total: first.total, next: first.nextOffset }, { total: made.loadAfter.length, next: 7 });
    const pages = [first.hosts];
    for (let offset = first.nextOffset; offset !== null;) {
      const page = (await call({ method: 'GET', url: `/v1/plans/${id}/load-after?limit=7&offset=${offset}` })).json();
      pages.push(page.hosts);
      offset = page.nextOffset;
    }
    assert.deepEqual(pages.flat(), made.loadAfter, 'every host, each once, in stored order');
    assert.deepEqual((await call({ method: 'GET', url: `/v1/plans/${id}/load-after?offset=5000` })).json().hosts, []);
    // The executor reads the whole list.
    assert.deepEqual((await loadPlan(pool, id))!.loadAfter, made.loadAfter);

    assert.equal((await call({ method: 'GET', url: '/v1/plans/999999/load-after' })).statusCode, 404);
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['offset=-1', 'offset'], ['hosts=1', 'hosts']] as const) {
      const bad = await call({ method: 'GET', url: `/v1/plans/${id}/load-after?${query}` });
      assert.equal(bad.statusCode, 400, query);
      assert.match(JSON.stringify(bad.json()), new RegExp(field), query);
    }
  });
});
