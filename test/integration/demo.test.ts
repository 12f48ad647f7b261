// `./novacron demo` leaves what a user looks at: its topics and tables stay after the run, the
// summary says where to look, the next run removes the previous run's topics, and --clean removes
// its own topics and tables. Real Kafka, QuestDB and PostgreSQL (a database of its own); a small
// fleet so it stays cheap.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { PROJECT_ROOT, questdbTable, freePort } from '../../core/index.ts';
import { dropSampleTables, SAMPLE_TABLES } from '../../streams/index.ts';
import { createTempDatabase, type TempDatabase } from '../support/temp-database.ts';
import { busFor, isolatedConfig, questdbFor } from './harness.ts';


describe('the demo leaves its data for looking at', () => {
  // Only the table prefix is taken from here: the demo names its own topics per run.
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  const home = mkdtempSync(join(tmpdir(), 'novacron-demo-test-'));
  let db: TempDatabase;
  let env: Record<string, string>;
  const lastRun = () => (JSON.parse(readFileSync(join(home, 'demo-last-run.json'), 'utf8')) as { topics: string[] }).topics;
  const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const topicsNow = async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return new Set(await admin.listTopics());
    } finally {
      await admin.disconnect();
    }
  };
  const tableRows = async (name: string) => Number((await questdb.query<{ n: string }>(`select count() n from ${questdbTable(config, name)}`))[0]?.n ?? 0);

  function demo(args: string[]): Promise<{ code: number | null; output: string }> {
    // The demo's own topic names (novacron-demo-<run>) are under test: no inherited prefix.
    const inherited = { ...process.env };
    delete inherited.NOVACRON_TOPIC_PREFIX;
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'demo', '--hosts', '3', '--vms-per-host', '2', '--serve-seconds', '0', ...args], { cwd: PROJECT_ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
  }

  before(async () => {
    db = await createTempDatabase();
    // A home of its own for the demo's notes, on the shared stack's QuestDB (and its password file).
    env = { NOVACRON_HOME: home, QUESTDB_PG_PASSWORD_FILE: config.questdb.pgPasswordFile, DATABASE_URL: db.url, NOVACRON_TABLE_PREFIX: config.questdb.tablePrefix, NOVACRON_API_PORT: String(await freePort()) };
  });
  after(async () => {
    // Whatever a failed run left: its topics (named in the last-run note) and tables.
    if (existsSync(join(home, 'demo-last-run.json'))) await busFor(config).deleteTopics(lastRun()).catch(() => undefined);
    await dropSampleTables(config, questdb).catch(() => undefined);
    await questdb.close();
    await db?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  it('keeps topics and tables, says where to look; the next run removes the previous topics, --clean its own', async () => {
    const first = await demo([]);
    assert.equal(first.code, 0, first.output);
    for (const where of ['where to look', '/docs', '/review', 'QuestDB console', 'Grafana', '/metrics', 'after the demo   : its data stays']) assert.ok(first.output.includes(where), `summary names "${where}"\n${first.output}`);
    assert.match(first.output, new RegExp(`select vm_id, avg\\(cpu_used_cores\\) from ${questdbTable(config, SAMPLE_TABLES.vm)} sample by 1h`));
    const firstTopics = lastRun();
    assert.equal(firstTopics.length, 5);
    const present = await topicsNow();
    for (const t of firstTopics) assert.ok(present.has(t), `${t} stays after the demo`);
    assert.ok((await tableRows(SAMPLE_TABLES.vm)) > 0, 'the VM samples stay in QuestDB');
    assert.ok((await tableRows(SAMPLE_TABLES.host)) > 0, 'the host samples stay in QuestDB');

    const second = await demo(['--clean']);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, /--clean removed topics novacron-demo-[0-9a-f]+\.\* and tables/);
    assert.equal(existsSync(join(home, 'demo-last-run.json')), false, 'a clean run leaves no note');
    const secondPrefix = /topics (novacron-demo-[0-9a-f]+)\./.exec(second.output)?.[1];
    assert.ok(secondPrefix);
    const mine = (t: string) => firstTopics.includes(t) || t.startsWith(`${secondPrefix}.`);
    // Topic deletion completes asynchronously on the broker: wait for it.
    let remaining = await topicsNow();
    for (let i = 0; i < 40 && [...remaining].some(mine); i++) {
      await new Promise((r) => setTimeout(r, 250));
      remaining = await topicsNow();
    }
    for (const t of firstTopics) assert.ok(!remaining.has(t), `the first run's ${t} was removed by the second run`);
    assert.deepEqual([...remaining].filter((t) => t.startsWith(`${secondPrefix}.`)), [], '--clean removed its own topics');
    const tables = await questdb.query<{ table_name: string }>(`select table_name from tables() where table_name like '${config.questdb.tablePrefix}%'`);
    assert.deepEqual(tables.map((r) => r.table_name), [], '--clean removed its tables');
  });
});
