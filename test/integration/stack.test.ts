import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../core/index.ts';
import { stackStatus, stackUp } from '../../stack/index.ts';
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
});
