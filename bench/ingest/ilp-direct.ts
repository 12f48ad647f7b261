/**
 * The QuestDB half of the raw limits: the same rows the pipeline stores (VM + host samples of
 * the synthetic fleet, same tables, same DDL with DEDUP keys) written straight from Node with
 * @questdb/nodejs-client's Sender under several settings, timed until QuestDB shows them to
 * queries (so TCP, which has no acknowledgement, is compared fairly with HTTP). The best
 * variant is the reference the end-to-end figure is divided by (ilp_ratio).
 */
import { Sender } from '@questdb/nodejs-client';
import { loadConfig, questdbTable, type Config, type QuestDbClient } from '../../core/index.ts';
import { SyntheticFleet } from '../../ingest/index.ts';
import type { Sample } from '../../schemas/index.ts';
import { dropSampleTables, ensureSampleTables, QuestDbSampleStore, SAMPLE_TABLES } from '../../streams/index.ts';
import { cpuSeconds } from './procs.ts';

export interface IlpVariant {
  label: string;
  /** Sender config string after `<proto>::addr=host:port;`. */
  options: string;
  transport: 'http' | 'tcp';
  /**
   * store: QuestDbSampleStore.write per batch, exactly the worker's code path (reset, one awaited
   *        call chain per row, one flush);
   * auto:  one awaited row at a time, the client's auto-flush decides (the client's defaults);
   * rows:  rows written without awaiting each one, one explicit flush per batch;
   * text:  not the Sender: ILP text built as one string per batch and POSTed to /write with
   *        fetch, to show what encoding costs in the client versus in QuestDB.
   */
  mode: 'store' | 'auto' | 'rows';
  batchRows: number;
  senders: number;
}

export interface IlpResult extends IlpVariant {
  rows: number;
  /** Rows/s until the last flush returned (what the client saw). */
  clientRowsPerS: number;
  /** Rows/s until every row was visible to a query (the figure that is compared). */
  landedRowsPerS: number;
  /** QuestDB's CPU (user + system) from the first write until every row was visible, µs per row; NaN when its pid is unknown. */
  questdbUsPerRow: number;
  error?: string;
}

/** The variants tried, one sender each; the best one is then re-run with more senders. */
export function ilpVariants(): IlpVariant[] {
  const v = (label: string, transport: 'http' | 'tcp', options: string, mode: IlpVariant['mode'], batchRows: number): IlpVariant => ({ label, transport, options, mode, batchRows, senders: 1 });
  return [
    v("the worker's SampleStore (ILP rows written per batch, binary doubles, POST /write, 10k-row batches)", 'http', '', 'store', 10_000),
    v("the worker's SampleStore, 50k-row batches", 'http', '', 'store', 50_000),
    v('client defaults (http, awaited rows, auto_flush_rows=75000)', 'http', '', 'auto', 75_000),
    v('http pv=1, rows not awaited, 10k-row flush', 'http', 'auto_flush=off;protocol_version=1', 'rows', 10_000),
    v('http pv=2, rows not awaited, 10k-row flush', 'http', 'auto_flush=off;protocol_version=2', 'rows', 10_000),
    v('http pv=2, 50k-row flush, init_buf_size=16MiB', 'http', `auto_flush=off;protocol_version=2;init_buf_size=${16 << 20}`, 'rows', 50_000),
    v('http pv=2, 200k-row flush, init_buf_size=64MiB', 'http', `auto_flush=off;protocol_version=2;init_buf_size=${64 << 20};max_buf_size=${256 << 20}`, 'rows', 200_000),
    v('http pv=2, 50k-row flush, stdlib_http=on', 'http', `auto_flush=off;protocol_version=2;init_buf_size=${16 << 20};stdlib_http=on`, 'rows', 50_000),
    v('tcp pv=1, 50k-row flush', 'tcp', `auto_flush=off;protocol_version=1;init_buf_size=${16 << 20}`, 'rows', 50_000),
    v('tcp pv=2, 50k-row flush', 'tcp', `auto_flush=off;protocol_version=2;init_buf_size=${16 << 20}`, 'rows', 50_000),
  ];
}


/** One round of the fleet in the pipeline's proportions: per host, its sample then its 8 VMs'. */
export function fleetRows(vms: number, seed = 1): Sample[] {
  const fleet = new SyntheticFleet({ hosts: Math.max(1, Math.floor(vms / 8)), vmsPerHost: 8, seed, stepMs: 1000 });
  const tick = fleet.tick(0, Date.now());
  const rows: Sample[] = [];
  tick.hosts.forEach((h, i) => {
    rows.push({ kind: 'host', sample: h });
    for (let v = i * 8; v < (i + 1) * 8; v++) rows.push({ kind: 'vm', sample: tick.vms[v]! });
  });
  return rows;
}

async function countRows(questdb: QuestDbClient, tables: string[]): Promise<number> {
  let total = 0;
  for (const t of tables) {
    const r = await questdb.query<{ n: string }>(`select count() n from '${t}'`);
    total += Number(r[0]?.n ?? 0);
  }
  return total;
}

/**
 * Runs one variant for `seconds` into its own fresh tables (dropped afterwards), and times it
 * until QuestDB shows every row.
 */
export async function runIlpVariant(base: Config, questdb: QuestDbClient, prefix: string, variant: IlpVariant, rows: readonly Sample[], seconds: number, questdbPid?: number): Promise<IlpResult> {
  const config = loadConfig(process.env, { NOVACRON_TABLE_PREFIX: prefix, NOVACRON_TOPIC_PREFIX: base.kafka.topicPrefix });
  const tables = [questdbTable(config, SAMPLE_TABLES.vm), questdbTable(config, SAMPLE_TABLES.host)];
  await ensureSampleTables(config, questdb);
  const senders: Sender[] = [];
  try {
    const port = variant.transport === 'http' ? config.questdb.httpPort : config.questdb.ilpTcpPort;
    for (let i = 0; i < variant.senders; i++) {
      // The client logs connects at info through console: keep the bench's output readable.
      const sender = await Sender.fromConfig(`${variant.transport}::addr=${config.questdb.host}:${port};${variant.options}`, { log: () => undefined });
      if (variant.transport === 'tcp') await sender.connect();
      senders.push(sender);
    }
    // Batches are cut from successive rounds of the fleet, each round one ms later, so no two
    // rows share a dedup key (ts, vm_id); the shared cursor is safe (one thread).
    let round = 0;
    let offset = 0;
    const baseTs = Date.now();
    const next = (): { batch: Sample[]; ts: number } => {
      if (offset >= rows.length) {
        round++;
        offset = 0;
      }
      const batch = rows.slice(offset, offset + variant.batchRows);
      offset += batch.length;
      return { batch: batch as Sample[], ts: baseTs + round };
    };
    let written = 0;
    const cpu0 = cpuSeconds(questdbPid);
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    await Promise.all(senders.map(async (sender) => {
      const store = variant.mode === 'store' ? new QuestDbSampleStore(config) : undefined;
      while (performance.now() < deadline) {
        const { batch, ts } = next();
        if (store) {
          // The store reads ts from the sample: copy with this round's ts (a small, fair extra).
          await store.write(batch.map((s) => ({ kind: s.kind, sample: { ...s.sample, ts } }) as Sample));
        } else if (variant.mode === 'auto') {
          for (const s of batch) {
            senderColumns(sender, tables, s);
            await sender.at(ts, 'ms');
          }
        } else {
          for (const s of batch) {
            senderColumns(sender, tables, s);
            void sender.at(ts, 'ms'); // auto_flush=off: at() only ends the row, never sends
          }
          await sender.flush();
        }
        written += batch.length;
      }
      await sender.flush();
    }));
    const clientS = (performance.now() - t0) / 1000;
    const landedBy = Date.now() + 120_000;
    while ((await countRows(questdb, tables)) < written) {
      if (Date.now() > landedBy) throw new Error(`rows did not all become visible within 120 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const landedS = (performance.now() - t0) / 1000;
    const cpu1 = cpuSeconds(questdbPid);
    const questdbUsPerRow = cpu0 === undefined || cpu1 === undefined || written === 0 ? Number.NaN : ((cpu1 - cpu0) * 1e6) / written;
    return { ...variant, rows: written, clientRowsPerS: written / clientS, landedRowsPerS: written / landedS, questdbUsPerRow };
  } catch (err) {
    return { ...variant, rows: 0, clientRowsPerS: 0, landedRowsPerS: 0, questdbUsPerRow: Number.NaN, error: (err as Error).message };
  } finally {
    await Promise.all(senders.map((s) => s.close().catch(() => undefined)));
    await dropSampleTables(config, questdb);
  }
}

/** One sample's table and columns through the client library's Sender (same columns and types as the store); the caller ends the row with at(). */
function senderColumns(sender: Sender, tables: string[], s: Sample): void {
  if (s.kind === 'vm') {
    const v = s.sample;
    sender.table(tables[0]!).symbol('host_id', v.hostId).symbol('vm_id', v.vmId)
      .floatColumn('cpu_used_cores', v.cpuUsedCores).floatColumn('vcpus', v.vcpus)
      .intColumn('mem_used_bytes', v.memUsedBytes).intColumn('mem_total_bytes', v.memTotalBytes)
      .floatColumn('disk_read_bps', v.diskReadBps).floatColumn('disk_write_bps', v.diskWriteBps)
      .floatColumn('net_rx_bps', v.netRxBps).floatColumn('net_tx_bps', v.netTxBps)
      .floatColumn('vcpu_delay_pct', v.vcpuDelayPct);
  } else {
    const h = s.sample;
    sender.table(tables[1]!).symbol('host_id', h.hostId)
      .floatColumn('cpu_used_cores', h.cpuUsedCores).floatColumn('cpu_capacity_cores', h.cpuCapacityCores)
      .intColumn('mem_used_bytes', h.memUsedBytes).intColumn('mem_total_bytes', h.memTotalBytes)
      .floatColumn('disk_read_bps', h.diskReadBps).floatColumn('disk_write_bps', h.diskWriteBps)
      .floatColumn('net_rx_bps', h.netRxBps).floatColumn('net_tx_bps', h.netTxBps)
      .floatColumn('cpu_steal_pct', h.cpuStealPct);
  }
}
