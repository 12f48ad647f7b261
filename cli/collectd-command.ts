import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { NovaError, type Config, type Logger } from '../core/index.ts';
import { collectdConfigFor, DEFAULT_COLLECTD_INTERVAL_SECONDS } from '../ingest/index.ts';
import { say } from './output.ts';

export const COLLECTD_USAGE = `usage: ./novacron collectd-config [--host ID] [--uri URI] [--interval S] [--no-host-metrics] [--syslog]
  Prints a collectd.conf (collectd 5.12) that sends this host's VMs (virt plugin) and, unless
  --no-host-metrics, the host itself to Kafka (KAFKA_BROKERS, topic <NOVACRON_TOPIC_PREFIX>.collectd)
  in the format the streams worker reads. Drop it on the hypervisor and run collectd -f -C FILE.
    --host ID       NovaCron's id of the host (default: this machine's hostname)
    --uri URI       libvirt URI collectd reads on that host (default: qemu:///system)
    --interval S    seconds between reads (default ${DEFAULT_COLLECTD_INTERVAL_SECONDS})
    --syslog        log to syslog instead of stdout
  See docs/collectd.md.`;

/** `novacron collectd-config`: prints a host's collectd.conf on stdout. */
export async function collectdConfigCommand(argv: string[], config: Config, _log: Logger): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { host: { type: 'string' }, uri: { type: 'string' }, interval: { type: 'string' }, 'no-host-metrics': { type: 'boolean' }, syslog: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (cause) {
    throw new NovaError('CLI_USAGE', `${(cause as Error).message}\n${COLLECTD_USAGE}`);
  }
  if (values.help) return say(COLLECTD_USAGE), 0;
  const interval = values.interval === undefined ? undefined : Number(values.interval);
  if (interval !== undefined && !(Number.isFinite(interval) && interval > 0)) throw new NovaError('CLI_USAGE', `--interval needs a positive number of seconds, got ${JSON.stringify(values.interval)}\n${COLLECTD_USAGE}`);
  const hostId = values.host ?? hostname();
  process.stdout.write(collectdConfigFor(config, {
    hostId,
    // collectd runs on the host itself: the local URI, not the remote one NovaCron's actuators use.
    libvirtUri: values.uri ?? 'qemu:///system',
    ...(interval !== undefined ? { intervalSeconds: interval } : {}),
    hostMetrics: !values['no-host-metrics'],
    log: values.syslog ? 'syslog' : 'stdout',
  }));
  return 0;
}
