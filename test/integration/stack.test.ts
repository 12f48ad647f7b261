import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, QuestDbClient, questdbPgUrl } from '../../core/index.ts';
import { QUESTDB_ROLLUP_THREAD_PREFIX, QUESTDB_WORKER_IDLE, QUESTDB_WORKER_POOLS, stackStatus, stackUp, threadsOf } from '../../stack/index.ts';
import { testLogger } from './harness.ts';

describe('local stack (already up for the suite)', () => {
  const config = loadConfig();

  it('a second `up` starts nothing and finds every server answering', async () => {
    const statuses = await stackUp(config, testLogger());
    assert.deepEqual(statuses.map((s) => s.name).sort(), ['kafka', 'postgres', 'questdb']);
    for (const s of statuses) {
      assert.notEqual(s.started, true, `${s.name} was not started again`);
      assert.ok(s.state === 'running' || s.state === 'external', `${s.name} is ${s.state}`);
    }
  });

  it('status reports the servers with their versions', async () => {
    const byName = new Map((await stackStatus(config, testLogger())).map((s) => [s.name, s]));
    assert.match(byName.get('kafka')!.version, /^4\./);
    assert.match(byName.get('questdb')!.version, /^9\./);
    for (const s of byName.values()) assert.ok(s.state === 'running' || s.state === 'external');
  });

  it("QuestDB's worker pools sleep soon after running out of work (every pool the server lists, not only the ones we know)", async () => {
    const qdb = new QuestDbClient(questdbPgUrl(config));
    try {
      const rows = await qdb.query<{ property_path: string; value: string; value_source: string }>('show parameters');
      // <pool>.worker.<yield|nap|sleep>.threshold
      const idle = rows.flatMap((r) => {
        const m = /^(.+)\.worker\.(yield|nap|sleep)\.threshold$/.exec(r.property_path);
        return m ? [{ ...r, pool: m[1]!, kind: m[2] as keyof typeof QUESTDB_WORKER_IDLE }] : [];
      });
      // A QuestDB upgrade that adds a pool would leave it spinning at the defaults: name it here.
      assert.deepEqual([...new Set(idle.map((r) => r.pool))].sort(), [...QUESTDB_WORKER_POOLS].sort());
      for (const r of idle) assert.equal(Number(r.value), QUESTDB_WORKER_IDLE[r.kind], `${r.property_path} is ${r.value} (${r.value_source})`);
    } finally {
      await qdb.close();
    }
  });

  it("the stack's QuestDB refreshes rollups single-threaded on its refresh threads, and those run at rollupNice while the rest run at 0", async () => {
    const qdb = new QuestDbClient(questdbPgUrl(config));
    try {
      const rows = await qdb.query<{ value: string }>("(show parameters) where property_path = 'cairo.mat.view.parallel.sql.enabled'");
      assert.equal(rows[0]?.value, 'false');
    } finally {
      await qdb.close();
    }
    const questdb = (await stackStatus(config, testLogger())).find((s) => s.name === 'questdb')!;
    assert.ok(questdb.pid, `the suite runs the stack's own QuestDB (state ${questdb.state})`);
    const threads = threadsOf(questdb.pid);
    const refresh = threads.filter((t) => t.name.startsWith(QUESTDB_ROLLUP_THREAD_PREFIX));
    assert.ok(refresh.length >= 1, `refresh threads among ${threads.map((t) => t.name).join(', ')}`);
    assert.ok(config.questdb.rollupNice > 0);
    for (const t of refresh) assert.equal(t.nice, config.questdb.rollupNice, `${t.name} (${t.tid})`);
    for (const t of threads.filter((t) => /^(shared|wal-apply)/.test(t.name))) assert.equal(t.nice, 0, `${t.name} (${t.tid}): ingestion keeps its priority`);
  });
});
