import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBus, NovaError, topicsFor, topicSpecs, type BusProducer, type Config, type Logger } from '../core/index.ts';
import { AgentMetrics, CodedProducer, HostAgent, SamplePublisher, serveMetrics, SpoolingProducer, VirshDomainReader, type MetricsServer, type StepReport } from '../ingest/index.ts';
import { say } from './output.ts';
import { untilSignal } from './run-until-signal.ts';

export const AGENT_USAGE = `usage: ./novacron agent [--once] [--interval S] [--uri URI] [--host-id ID]

Reads this host from procfs and its libvirt domains (virsh domstats) every interval, turns the
counters into rates, and publishes one host sample and one sample per running VM to Kafka,
keyed by the host id. The first read is a baseline: samples start one interval later.

  --once          one interval (baseline read, wait S, read, publish), then exit
  --interval S    seconds between reads (NOVACRON_AGENT_INTERVAL_SECONDS, default 10)
  --uri URI       libvirt URI (NOVACRON_AGENT_LIBVIRT_URI, default qemu:///system)
  --host-id ID    key and hostId of the samples (NOVACRON_AGENT_HOST_ID, default the hostname)

/metrics (Prometheus) on NOVACRON_AGENT_METRICS_HOST:NOVACRON_AGENT_METRICS_PORT (0 = off).
While Kafka is unreachable, samples wait in a disk spool (NOVACRON_SPOOL_*). Ctrl-C stops.
See docs/agent.md.`;

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

interface AgentArgs {
  once: boolean;
  intervalSeconds: number;
  uri: string;
  hostId: string;
}

function parseAgentArgs(argv: string[], config: Config): AgentArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { once: { type: 'boolean' }, interval: { type: 'string' }, uri: { type: 'string' }, 'host-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new NovaError('AGENT_USAGE', `${(err as Error).message}\n\n${AGENT_USAGE}`);
  }
  if (values.help) return 'help';
  const intervalSeconds = values.interval === undefined ? config.agent.intervalSeconds : Number(values.interval);
  if (!Number.isFinite(intervalSeconds) || intervalSeconds < 0.1 || intervalSeconds > 3600) {
    throw new NovaError('AGENT_USAGE', `--interval must be seconds between 0.1 and 3600, got "${values.interval}"`);
  }
  const hostId = values['host-id'] ?? config.agent.hostId;
  if (!HOST_ID.test(hostId) || hostId.length > 128) throw new NovaError('AGENT_USAGE', `--host-id "${hostId}": use letters, digits and . _ : @ - (at most 128)`);
  const uri = values.uri ?? config.agent.libvirtUri;
  if (uri.trim() === '') throw new NovaError('AGENT_USAGE', '--uri must not be empty (e.g. qemu:///system)');
  return { once: values.once ?? false, intervalSeconds, uri, hostId };
}

/**
 * The producer the agent sends through: the disk spool in front of Kafka when it is on (samples
 * survive a broker outage), else Kafka directly with coded errors.
 */
async function agentProducer(config: Config, log: Logger, hostId: string): Promise<BusProducer & { spoolStats?: () => string }> {
  const bus = createBus(config, log);
  const connect = async () => {
    await bus.ensureTopics(topicSpecs(config));
    return bus.producer();
  };
  if (!config.spool.enabled) return new CodedProducer(await connect());
  // One spool per agent identity: two agents of different hosts on one machine (tests) never share a lock.
  const spool = new SpoolingProducer({ connect, dir: join(config.spool.dir, `agent-${hostId}`), maxBytes: config.spool.maxBytes, log });
  return Object.assign(spool, {
    spoolStats: () => {
      const s = spool.stats;
      return s.state === 'direct' && s.pending === 0 ? '' : `, spool ${s.state}: ${s.pending} records waiting, ${s.dropped} dropped`;
    },
  });
}

/** `novacron agent`: the host agent until SIGINT/SIGTERM, or for one interval with --once. */
export async function agentCommand(argv: string[], config: Config, log: Logger): Promise<number> {
  const args = parseAgentArgs(argv, config);
  if (args === 'help') return say(AGENT_USAGE), 0;
  const topics = topicsFor(config);
  const metrics = new AgentMetrics();
  const producer = await agentProducer(config, log, args.hostId);
  let server: MetricsServer | undefined;
  const abort = new AbortController();
  void untilSignal().then(() => abort.abort());
  try {
    if (config.agent.metricsPort !== 0) server = await serveMetrics(metrics, config.agent.metricsPort, config.agent.metricsHost);
    const agent = new HostAgent({
      hostId: args.hostId,
      publisher: new SamplePublisher(producer, topics),
      // A read may take up to the interval (at least 5 s): a hung libvirtd then costs intervals, not the agent.
      domains: new VirshDomainReader(args.uri, Math.max(5_000, args.intervalSeconds * 1000)),
      metrics,
      log,
    });
    say(`agent: host ${args.hostId}, libvirt ${args.uri}, every ${args.intervalSeconds} s → ${topics.hostSamples} / ${topics.vmSamples}` +
      (server ? `; metrics on http://${config.agent.metricsHost}:${server.port}/metrics` : '') + (args.once ? '' : ' (Ctrl-C to stop)'));
    // About one line a minute, and always the first interval's.
    const every = Math.max(1, Math.round(60 / args.intervalSeconds));
    let last: StepReport | undefined;
    const line = (r: StepReport) => {
      const t = agent.totals;
      const errs = r.errors.length > 0 ? `; this interval: ${r.errors.map((e) => `${e.source} ${e.error instanceof NovaError ? e.error.code : 'error'}`).join(', ')}` : '';
      say(`agent: ${t.intervals} intervals, ${t.hostSamples} host + ${t.vmSamples} VM samples (${r.domains} domains), read errors ${t.readErrors}, publish errors ${t.publishErrors}${producer.spoolStats?.() ?? ''}${errs}`);
    };
    await agent.run({
      intervalMs: args.intervalSeconds * 1000,
      signal: abort.signal,
      maxIntervals: args.once ? 1 : undefined,
      onInterval: (r) => {
        last = r;
        if (args.once || agent.totals.intervals === 1 || agent.totals.intervals % every === 0 || r.errors.length > 0) line(r);
      },
    });
    if (!args.once) say(`agent: stopped after ${agent.totals.intervals} intervals, ${agent.totals.hostSamples} host + ${agent.totals.vmSamples} VM samples`);
    return args.once && (last === undefined || last.errors.length > 0) ? 1 : 0;
  } finally {
    await server?.close();
    await producer.close();
  }
}
