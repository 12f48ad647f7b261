import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { NovaError } from './errors.ts';
import { questdbPgUrl } from './questdb.ts';
import { ensureQuestdbPassword, questdbPassword } from './questdb-secret.ts';

describe('QuestDB password: never a default in code', () => {
  const home = () => mkdtempSync(join(tmpdir(), 'qdb-secret-'));

  it('without QUESTDB_PG_PASSWORD or a stored one, QUESTDB_PASSWORD_MISSING names what to do', () => {
    const config = loadConfig({ NOVACRON_HOME: home() });
    assert.throws(() => questdbPassword(config), (err: unknown) => err instanceof NovaError && err.code === 'QUESTDB_PASSWORD_MISSING' && /stack up/.test(err.message));
    assert.throws(() => questdbPgUrl(config), /QUESTDB_PG_PASSWORD/);
  });

  it('the stack generates one random owner-only password and every later read finds the same', () => {
    const dir = home();
    const config = loadConfig({ NOVACRON_HOME: dir });
    const first = ensureQuestdbPassword(config);
    const other = ensureQuestdbPassword(loadConfig({ NOVACRON_HOME: home() }));
    assert.ok(first.length >= 24 && first !== 'quest' && first !== other, 'random, not QuestDB\'s stock one');
    assert.equal(ensureQuestdbPassword(config), first);
    assert.equal(questdbPassword(loadConfig({ NOVACRON_HOME: dir })), first);
    const file = join(dir, 'secrets', 'questdb-pg-password');
    assert.equal(readFileSync(file, 'utf8').trim(), first);
    assert.equal(statSync(file).mode & 0o077, 0, 'no access for group or others');
    assert.ok(questdbPgUrl(config).includes(`:${encodeURIComponent(first)}@`));
  });

  it('QUESTDB_PG_PASSWORD wins over the file, and the stack starts with it instead of generating one', () => {
    const dir = home();
    const file = join(dir, 'pw');
    writeFileSync(file, 'from-file\n');
    assert.equal(questdbPassword(loadConfig({ NOVACRON_HOME: dir, QUESTDB_PG_PASSWORD_FILE: file })), 'from-file');
    const config = loadConfig({ NOVACRON_HOME: dir, QUESTDB_PG_PASSWORD_FILE: file, QUESTDB_PG_PASSWORD: 's3cret' });
    assert.equal(questdbPassword(config), 's3cret');
    assert.equal(ensureQuestdbPassword(loadConfig({ NOVACRON_HOME: dir, QUESTDB_PG_PASSWORD: 'x1' })), 'x1');
  });
});
