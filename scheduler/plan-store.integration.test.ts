import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, type PgPool } from '../core/index.ts';
import { createTempDatabase, type TempDatabase } from '../test/support/temp-database.ts';
import { SCHEDULER_MIGRATIONS, latestPlan, listHosts, planFleet, saveInventory, savePlan, type FleetSnapshot } from './index.ts';

// Runs against the real PostgreSQL (trust auth), in a database created for this run only.
let db: TempDatabase;
let pool: PgPool;

const GIB = 1024 ** 3;
const T0 = Date.UTC(2024, 0, 10, 12, 0);

const fleet = (takenAt: number): FleetSnapshot => ({
  takenAt,
  hosts: ['h1', 'h2', 'h3', 'h4'].map((hostId) => ({ hostId, cpuCores: 8, memBytes: 32 * GIB })),
  vms: [
    { vmId: 'a', hostId: 'h1', cpuCores: 0.1 + 0.2, memBytes: 4 * GIB, source: 'seasonal-naive' },
    { vmId: 'b', hostId: 'h2', cpuCores: 1 / 3, memBytes: 3 * GIB + 7, source: 'ewma' },
    // 8.75 cores on an 8-core host: h3 is overloaded, and c fits no host under the 97 % target.
    { vmId: 'c', hostId: 'h3', cpuCores: 8.5, memBytes: 2 * GIB },
    { vmId: 'd', hostId: 'h3', cpuCores: 0.25, memBytes: GIB },
  ],
});

before(async () => {
  db = await createTempDatabase();
  pool = db.pool;
  await migrate(pool, SCHEDULER_MIGRATIONS);
  await migrate(pool, SCHEDULER_MIGRATIONS); // applying twice is a no-op
});

after(() => db?.drop());

test('latestPlan is null before any plan was saved', async () => {
  assert.equal(await latestPlan(pool), null);
});

test('a saved plan round-trips exactly, actions in order', async () => {
  const plan = planFleet(fleet(T0));
  assert.ok(plan.actions.length >= 3 && plan.unplaced.length === 1, 'the fixture exercises migrations, power-offs and unplaced VMs');
  const id = await savePlan(pool, plan);
  assert.ok(Number.isInteger(id) && id > 0);
  assert.deepEqual(await latestPlan(pool), { ...plan, id });

  const empty = planFleet({ takenAt: T0 + 1, hosts: [], vms: [] });
  const id2 = await savePlan(pool, empty);
  assert.ok(id2 > id);
  assert.deepEqual(await latestPlan(pool), { ...empty, id: id2 });
});

test('the cost recommendations round-trip with their plan', async () => {
  const snapshot = fleet(T0 + 4);
  const ramp = (scale: number) => Array.from({ length: 48 }, (_, i) => (i / 48) * scale);
  snapshot.vms = snapshot.vms.map((v) => ({ ...v, vcpus: 4, cpuHistory: ramp(v.cpuCores), memUsedHistory: ramp(v.memBytes / 2) }));
  const catalog = { version: 1 as const, currency: 'USD', instances: [{ provider: 'aws', region: 'us-east-1', instanceType: 'm.large', vcpus: 2, memoryGiB: 8, onDemandPerHour: 0.1, spotPerHour: 0.03 }] };
  snapshot.cost = { catalog, burstable: { d: { vcpus: 2 } }, burst: { constraints: { spotAllowed: true } } };
  const plan = planFleet(snapshot);
  assert.ok(plan.cost && plan.cost.rightsizing.length === 4, 'every VM is rightsized');
  const id = await savePlan(pool, plan);
  assert.deepEqual(await latestPlan(pool), { ...plan, id });
});

test('deleting a plan deletes its actions', async () => {
  const id = await savePlan(pool, planFleet(fleet(T0 + 2)));
  await pool.query('delete from plans where id = $1', [id]);
  const left = await pool.query('select count(*)::int n from plan_actions where plan_id = $1', [id]);
  assert.equal(left.rows[0].n, 0);
});

test('a plan whose actions cannot be stored leaves nothing behind', async () => {
  const plan = planFleet(fleet(T0 + 3));
  const broken = { ...plan, actions: [...plan.actions, { kind: 'teleport', reason: 'x' } as never] };
  const before = (await pool.query('select count(*)::int n from plans')).rows[0].n;
  await assert.rejects(savePlan(pool, broken), { code: 'SCHEDULER_STORE_FAILED' });
  assert.equal((await pool.query('select count(*)::int n from plans')).rows[0].n, before);
});

test('saveInventory upserts hosts with their VM count and summed demand; older snapshots never win', async () => {
  await saveInventory(pool, fleet(T0));
  const hosts = await listHosts(pool);
  assert.deepEqual(hosts.map((h) => [h.hostId, h.vmCount, h.cpuP95Cores, h.memReservedBytes]), [
    ['h1', 1, 0.1 + 0.2, 4 * GIB],
    ['h2', 1, 1 / 3, 3 * GIB + 7],
    ['h3', 2, 8.5 + 0.25, 3 * GIB],
    ['h4', 0, 0, 0],
  ]);
  assert.ok(hosts.every((h) => h.cpuCores === 8 && h.memBytes === 32 * GIB && h.updatedAt === T0));

  const newer = fleet(T0 + 60_000);
  newer.vms = newer.vms.map((v) => ({ ...v, hostId: 'h4' }));
  await saveInventory(pool, newer);
  await saveInventory(pool, fleet(T0 - 60_000));
  const after = await listHosts(pool);
  assert.deepEqual(after.map((h) => [h.hostId, h.vmCount, h.updatedAt]), [
    ['h1', 0, T0 + 60_000],
    ['h2', 0, T0 + 60_000],
    ['h3', 0, T0 + 60_000],
    ['h4', 4, T0 + 60_000],
  ]);
});

test('using the store before migrating says so', async () => {
  const bare = await createTempDatabase();
  try {
    await assert.rejects(latestPlan(bare.pool), (err: Error & { code?: string }) => err.code === 'SCHEDULER_STORE_FAILED' && /SCHEDULER_MIGRATIONS/.test(err.message));
  } finally {
    await bare.drop();
  }
});
