import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, QuestDbClient, questdbPgUrl } from '../../core/index.ts';
import { QUESTDB_WORKER_IDLE, QUESTDB_WORKER_POOLS, stackStatus, stackUp } from '../../stack/index.ts';
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
});
