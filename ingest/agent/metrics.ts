// The agent's own /metrics: what it produced, what it could not read, how long reads take, and the
// host's load averages (the sample schemas have no load field). Its own Registry, so two agents in
// one process (tests) or a library user's registry never collide.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { startMetricsServer, type MetricsServer } from '../../core/index.ts';

export type ReadSource = 'procfs' | 'libvirt';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly samples: Counter<'kind'>;
  readonly readErrors: Counter<'source'>;
  readonly publishErrors: Counter;
  readonly intervals: Counter;
  readonly readDuration: Gauge<'source'>;
  readonly domains: Gauge;
  readonly load1: Gauge;
  readonly load5: Gauge;
  readonly load15: Gauge;

  /** @param processMetrics also export the process's CPU, RSS, heap and event-loop lag (off in unit tests). */
  constructor(processMetrics = true) {
    const registers = [this.registry];
    this.samples = new Counter({ name: 'novacron_agent_samples_total', help: 'Samples published, by kind (host, vm)', labelNames: ['kind'], registers });
    this.readErrors = new Counter({ name: 'novacron_agent_read_errors_total', help: 'Failed reads, by source (procfs, libvirt)', labelNames: ['source'], registers });
    this.publishErrors = new Counter({ name: 'novacron_agent_publish_errors_total', help: 'Intervals whose samples could not be sent to Kafka', registers });
    this.intervals = new Counter({ name: 'novacron_agent_intervals_total', help: 'Sampling intervals completed (the first read is a baseline, not an interval)', registers });
    this.readDuration = new Gauge({ name: 'novacron_agent_last_read_duration_seconds', help: 'Duration of the last read, by source', labelNames: ['source'], registers });
    this.domains = new Gauge({ name: 'novacron_agent_domains', help: 'Active libvirt domains in the last read', registers });
    this.load1 = new Gauge({ name: 'novacron_agent_host_load1', help: 'Host load average over 1 minute (/proc/loadavg)', registers });
    this.load5 = new Gauge({ name: 'novacron_agent_host_load5', help: 'Host load average over 5 minutes', registers });
    this.load15 = new Gauge({ name: 'novacron_agent_host_load15', help: 'Host load average over 15 minutes', registers });
    // Every label value from the start, so a rate() over them works before the first event.
    for (const kind of ['host', 'vm']) this.samples.inc({ kind }, 0);
    for (const source of ['procfs', 'libvirt']) this.readErrors.inc({ source }, 0);
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'novacron_agent_' });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A running /metrics endpoint (core's, shared by every long-running process). */
export type { MetricsServer } from '../../core/index.ts';

/**
 * Serves the registry on GET /metrics (and /healthz). `port` 0 takes a free port (tests);
 * callers treat a configured 0 as "off" and do not call this.
 */
export function serveMetrics(metrics: AgentMetrics, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  return startMetricsServer(metrics.registry, { host, port, portSetting: 'NOVACRON_AGENT_METRICS_PORT', errorCode: 'AGENT_METRICS_PORT' });
}
