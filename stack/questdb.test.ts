import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../core/index.ts';
import { logConf } from './questdb.ts';

test("the stack's QuestDB logs errors and advisories by default, INFO when asked; a bad level is refused naming the setting", () => {
  const level = (conf: string) => /^w\.stdout\.level=(.*)$/m.exec(conf)?.[1];
  const byDefault = logConf(loadConfig({}, {}));
  assert.equal(level(byDefault), 'ERROR,CRITICAL,ADVISORY');
  assert.match(byDefault, /^writers=stdout$/m);
  assert.equal(level(logConf(loadConfig({}, { NOVACRON_QUESTDB_LOG_LEVELS: 'INFO,ERROR,CRITICAL,ADVISORY' }))), 'INFO,ERROR,CRITICAL,ADVISORY');
  assert.throws(() => loadConfig({}, { NOVACRON_QUESTDB_LOG_LEVELS: 'INFO\nwriters=file' }), /questdb\.logLevels/);
  assert.throws(() => loadConfig({}, { NOVACRON_QUESTDB_LOG_LEVELS: 'VERBOSE' }), /questdb\.logLevels/);
});

test('the rollup refresh threads\' nice value is 10 by default, 0 to 19 when set, and refused otherwise naming the setting', () => {
  assert.equal(loadConfig({}, {}).questdb.rollupNice, 10);
  assert.equal(loadConfig({}, { NOVACRON_QUESTDB_ROLLUP_NICE: '0' }).questdb.rollupNice, 0);
  assert.equal(loadConfig({}, { NOVACRON_QUESTDB_ROLLUP_NICE: '19' }).questdb.rollupNice, 19);
  for (const bad of ['-5', '20', '2.5', 'low']) assert.throws(() => loadConfig({}, { NOVACRON_QUESTDB_ROLLUP_NICE: bad }), /questdb\.rollupNice/, bad);
});
