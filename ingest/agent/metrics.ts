// The agent's own /metrics: what it produced, what it could not read, how long reads take, and the
// host's load averages (the sample schemas have no load field). Its own Registry, so two agents in
// one process (tests) or a library user's registry never collide.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { NovaError } from '../../core/index.ts';

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

/** A running /metrics endpoint. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves the registry on GET /metrics (everything else 404). `port` 0 takes a free port (tests);
 * callers treat a configured 0 as "off" and do not call this.
 */
export async function serveMetrics(metrics: AgentMetrics, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new NovaError('AGENT_METRICS_PORT', `cannot serve /metrics on ${host}:${port} (${err.code ?? err.message}); choose another NOVACRON_AGENT_METRICS_PORT, or 0 to turn it off`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
