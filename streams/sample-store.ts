import type { Sender } from '@questdb/nodejs-client';
import { questdbTable, type Config } from '../core/index.ts';
import type { HostSample, Sample, VmSample } from '../schemas/index.ts';
import { SAMPLE_TABLES } from './tables.ts';

/** The SampleStore port: resolves only once every sample is durable in the store. */
export interface SampleStore {
  write(samples: readonly Sample[]): Promise<void>;
  close(): Promise<void>;
}

/** SampleStore over QuestDB ILP/HTTP: one request per batch, into WAL tables with dedup keys. */
export class QuestDbSampleStore implements SampleStore {
  private readonly hostTable: string;
  private readonly vmTable: string;

  constructor(private readonly sender: Sender, config: Config) {
    this.hostTable = questdbTable(config, SAMPLE_TABLES.host);
    this.vmTable = questdbTable(config, SAMPLE_TABLES.vm);
  }

  async write(samples: readonly Sample[]): Promise<void> {
    if (samples.length === 0) return;
    // A failed flush leaves rows in the buffer; drop them, the batch will be re-delivered whole.
    this.sender.reset();
    for (const s of samples) {
      if (s.kind === 'vm') await this.vmRow(s.sample);
      else await this.hostRow(s.sample);
    }
    await this.sender.flush();
  }

  private async vmRow(s: VmSample): Promise<void> {
    await this.sender.table(this.vmTable).symbol('host_id', s.hostId).symbol('vm_id', s.vmId)
      .floatColumn('cpu_used_cores', s.cpuUsedCores).floatColumn('vcpus', s.vcpus)
      .intColumn('mem_used_bytes', s.memUsedBytes).intColumn('mem_total_bytes', s.memTotalBytes)
      .floatColumn('disk_read_bps', s.diskReadBps).floatColumn('disk_write_bps', s.diskWriteBps)
      .floatColumn('net_rx_bps', s.netRxBps).floatColumn('net_tx_bps', s.netTxBps)
      .floatColumn('vcpu_delay_pct', s.vcpuDelayPct)
      .at(s.ts, 'ms');
  }

  private async hostRow(s: HostSample): Promise<void> {
    await this.sender.table(this.hostTable).symbol('host_id', s.hostId)
      .floatColumn('cpu_used_cores', s.cpuUsedCores).floatColumn('cpu_capacity_cores', s.cpuCapacityCores)
      .intColumn('mem_used_bytes', s.memUsedBytes).intColumn('mem_total_bytes', s.memTotalBytes)
      .floatColumn('disk_read_bps', s.diskReadBps).floatColumn('disk_write_bps', s.diskWriteBps)
      .floatColumn('net_rx_bps', s.netRxBps).floatColumn('net_tx_bps', s.netTxBps)
      .floatColumn('cpu_steal_pct', s.cpuStealPct)
      .at(s.ts, 'ms');
  }

  async close(): Promise<void> {
    await this.sender.close();
  }
}
