import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NovaError, type Config } from '../core/index.ts';
import { PlanetLabReplay, SyntheticFleet, type FleetSource } from '../ingest/index.ts';

export const FLEET_USAGE = `  --source synthetic|planetlab   fleet to simulate (default synthetic)
  --hosts N                      synthetic: hosts (default 12)
  --vms-per-host N               synthetic: VMs per host (default 8); planetlab: VMs per 8-core host (default 12)
  --hours H                      synthetic: hours of 5-minute samples, ending now (default 26)
  --day YYYYMMDD                 planetlab: day folder under <data>/traces/planetlab (default 20110303)
  --max-vms N                    planetlab: replay only the first N VMs (default 240)
  --malformed-every N            replace every Nth VM sample by a malformed message (default 250, 0 = none)
  --seed N                       synthetic fleet seed (default 42)`;

const FLEET_OPTIONS = {
  source: { type: 'string', default: 'synthetic' }, hosts: { type: 'string', default: '12' },
  'vms-per-host': { type: 'string' }, hours: { type: 'string', default: '26' },
  day: { type: 'string', default: '20110303' }, 'max-vms': { type: 'string', default: '240' },
  'malformed-every': { type: 'string', default: '250' }, seed: { type: 'string', default: '42' },
  help: { type: 'boolean', default: false },
} as const;

export interface FleetOptions {
  help: boolean;
  source: 'synthetic' | 'planetlab';
  hosts: number;
  vmsPerHost: number;
  hours: number;
  day: string;
  maxVms: number;
  malformedEvery: number;
  seed: number;
}

/** Parses the fleet options plus command-specific integer options (name → default). */
export function parseFleetOptions<K extends string>(argv: string[], usage: string, extra: Record<K, string>): FleetOptions & { extra: Record<K, number> } {
  const extraSpec = Object.fromEntries(Object.entries(extra).map(([k, d]) => [k, { type: 'string', default: d as string }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...FLEET_OPTIONS, ...extraSpec } as never, strict: true }) as { values: Record<string, string | boolean | undefined> });
  } catch (err) {
    throw new NovaError('CLI_BAD_OPTION', `${(err as Error).message}\n${usage}`);
  }
  const int = (name: string, min: number): number => {
    const v = values[name];
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new NovaError('CLI_BAD_OPTION', `--${name} must be an integer >= ${min}, got "${v}"\n${usage}`);
    return n;
  };
  const source = values.source;
  if (source !== 'synthetic' && source !== 'planetlab') throw new NovaError('CLI_BAD_OPTION', `--source must be synthetic or planetlab, got "${source}"\n${usage}`);
  if (values['vms-per-host'] === undefined) values['vms-per-host'] = source === 'planetlab' ? '12' : '8';
  if (!/^\d{8}$/.test(String(values.day))) throw new NovaError('CLI_BAD_OPTION', `--day must be YYYYMMDD, got "${values.day}"`);
  return {
    help: values.help === true,
    source,
    hosts: int('hosts', 1),
    vmsPerHost: int('vms-per-host', 1),
    hours: int('hours', 1),
    day: String(values.day),
    maxVms: int('max-vms', 1),
    malformedEvery: int('malformed-every', 0),
    seed: int('seed', 0),
    extra: Object.fromEntries(Object.keys(extra).map((k) => [k, int(k, 0)])) as Record<K, number>,
  };
}

/** The fleet the options describe: a seeded synthetic one, or a PlanetLab day replay. */
export function fleetFor(opts: FleetOptions, config: Config): FleetSource {
  if (opts.source === 'planetlab') {
    return new PlanetLabReplay({ dayDir: join(config.dataDir, 'traces', 'planetlab', opts.day), maxVms: opts.maxVms, vmsPerHost: opts.vmsPerHost });
  }
  return new SyntheticFleet({ hosts: opts.hosts, vmsPerHost: opts.vmsPerHost, seed: opts.seed, stepMs: 300_000 });
}

/** Steps to replay: `hours` for generators, the whole trace for replays. */
export function stepsFor(opts: FleetOptions, fleet: FleetSource): number {
  return opts.source === 'synthetic' ? Math.round((opts.hours * 3_600_000) / fleet.stepMs) : fleet.steps;
}
