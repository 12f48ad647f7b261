import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PROJECT_ROOT, questdbTable } from '../../core/index.ts';
import { SyntheticFleet } from '../../ingest/index.ts';
import { ANOMALY_TABLE, dropSampleTables, ensureSampleTables, QuestDbSampleStore, SAMPLE_TABLES } from '../../streams/index.ts';
import { isolatedConfig, questdbFor } from './harness.ts';

interface Panel { title: string; targets?: { rawSql: string; format?: string }[] }

const dashboardsDir = join(PROJECT_ROOT, 'grafana', 'dashboards');
const dashboards = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).map((f) => ({ file: f, json: JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as { panels: Panel[] } }));

describe('every Grafana dashboard query runs on QuestDB', () => {
  const config = isolatedConfig();
  const questdb = questdbFor(config);
  const tables = [...Object.values(SAMPLE_TABLES), ANOMALY_TABLE];
  const now = Math.floor(Date.now() / 300_000) * 300_000;

  before(async () => {
    await ensureSampleTables(config, questdb);
    const fleet = new SyntheticFleet({ hosts: 3, vmsPerHost: 4, seed: 5, stepMs: 300_000 });
    const store = new QuestDbSampleStore(config);
    for (let k = 0; k < 24; k++) {
      const tick = fleet.tick(k, now - (23 - k) * 300_000);
      await store.write([...tick.hosts.map((sample) => ({ kind: 'host' as const, sample })), ...tick.vms.map((sample) => ({ kind: 'vm' as const, sample }))]);
    }
    await store.close();
    await questdb.query(`insert into ${questdbTable(config, ANOMALY_TABLE)} values ($1, 'host-001', 'host-001-vm-01', 'cpu', 0.97, 0.3, 0.99, 'test event')`, [new Date(now - 600_000).toISOString()]);
    for (const t of tables) await questdb.waitForWalApplied(questdbTable(config, t));
  });

  after(async () => {
    await dropSampleTables(config, questdb).catch(() => undefined);
    for (const t of tables) await questdb.query(`drop table if exists ${questdbTable(config, t)}`).catch(() => undefined);
    await questdb.close();
  });

  /** What Grafana's postgres datasource sends: macros expanded; our test tables prefixed. */
  const expand = (sql: string) =>
    sql
      .replaceAll('$__timeFrom()', `'${new Date(now - 3 * 3_600_000).toISOString()}'`)
      .replaceAll('$__timeTo()', `'${new Date(now + 60_000).toISOString()}'`)
      .replace(/\bFROM (host_samples|vm_samples|anomalies)\b/g, (_m, t: string) => `FROM ${questdbTable(config, t)}`);

  for (const { file, json } of dashboards) {
    for (const panel of json.panels) {
      for (const target of panel.targets ?? []) {
        it(`${file}: "${panel.title}" returns rows`, async () => {
          assert.doesNotMatch(target.rawSql, /\$__(?!timeFrom\(\)|timeTo\(\))/, 'only macros the test expands');
          const rows = await questdb.query(expand(target.rawSql));
          assert.ok(rows.length > 0, `no rows for: ${expand(target.rawSql)}`);
          if (target.format !== 'table') assert.ok('time' in rows[0]!, 'time series queries name their time column "time"');
        });
      }
    }
  }
});
