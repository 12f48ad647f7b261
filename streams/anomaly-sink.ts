import type { Sender } from '@questdb/nodejs-client';
import { questdbTable, type BusProducer, type Config } from '../core/index.ts';
import type { AnomalyEvent } from './anomaly-stage.ts';
import { ANOMALY_TABLE } from './tables.ts';

/**
 * Anomaly events go two ways: a Kafka topic (JSON, keyed by VM, for alerting consumers) and
 * a QuestDB table (for dashboards). Both must accept before the batch commits.
 */
export class AnomalySink {
  private readonly table: string;

  constructor(
    private readonly producer: BusProducer,
    private readonly topic: string,
    private readonly sender: Sender,
    config: Config,
  ) {
    this.table = questdbTable(config, ANOMALY_TABLE);
  }

  async publish(events: readonly AnomalyEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.sender.reset();
    for (const e of events) {
      await this.sender.table(this.table).symbol('host_id', e.hostId).symbol('vm_id', e.vmId).symbol('metric', e.metric)
        .floatColumn('value', e.value).floatColumn('expected', e.expected).floatColumn('score', e.score)
        .stringColumn('explanation', e.explanation)
        .at(e.ts, 'ms');
    }
    await this.sender.flush();
    await this.producer.send(this.topic, events.map((e) => ({ key: e.vmId, value: Buffer.from(JSON.stringify(e)) })));
  }

  async close(): Promise<void> {
    await this.producer.close();
    await this.sender.close();
  }
}
