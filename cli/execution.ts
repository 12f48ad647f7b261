import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  autoApprovable,
  automationOf,
  checkLimits,
  DEFAULT_EXECUTOR_OPTIONS,
  Executor,
  LibvirtHostPower,
  proposeExecution,
  RedfishHostPower,
  type ActionOutcome,
  type ExecutionRow,
  type HostPower,
  type HypervisorDirectory,
  type WorldView,
} from '../actuators/index.ts';
import { NovaError, type Config, type Logger, type PgPool, type QuestDbClient } from '../core/index.ts';
import { latestHostCpu } from '../models/index.ts';
import { join } from 'node:path';
import type { PlannedAction } from '../scheduler/index.ts';

/** Registers a stored plan for execution, approving what the configured automation levels let go without a person. */
export function registerPlan(pool: PgPool, config: Config, planId: number, actions: readonly PlannedAction[], actor: string): Promise<ExecutionRow> {
  const levelOf = automationOf(config.execution.automation);
  return proposeExecution(pool, planId, actions, autoApprovable(actions, levelOf), actor);
}

/** The HostPower adapter the configuration names (none: power-offs are left to an operator). */
export function hostPowerFor(config: Config, directory: HypervisorDirectory, log: Logger): HostPower | undefined {
  const e = config.execution;
  if (e.hostPower === 'none') return undefined;
  if (e.hostPower === 'libvirt') return new LibvirtHostPower(directory, { stateFile: join(config.homeDir, 'host-power.json') });
  if (!e.redfishUrlTemplate || !e.redfishUser || !e.redfishPasswordFile) {
    throw new NovaError('CONFIG_INVALID', 'NOVACRON_HOST_POWER=redfish needs NOVACRON_REDFISH_URL_TEMPLATE, NOVACRON_REDFISH_USER and NOVACRON_REDFISH_PASSWORD_FILE');
  }
  let password: string;
  try {
    password = readFileSync(e.redfishPasswordFile, 'utf8').trim();
  } catch (cause) {
    throw new NovaError('CONFIG_INVALID', `cannot read NOVACRON_REDFISH_PASSWORD_FILE (${e.redfishPasswordFile}): ${(cause as Error).message}`);
  }
  return new RedfishHostPower({ bmcUrlTemplate: e.redfishUrlTemplate, auth: { type: 'session', username: e.redfishUser, password }, logger: log });
}

/** Telemetry the executor reads: each host's CPU in its latest sample of the last ten minutes. */
export function questdbWorld(questdb: QuestDbClient, config: Config): WorldView {
  return { hostCpu: (hostId) => latestHostCpu(questdb, config, hostId, Date.now(), 600_000) };
}

/** An executor wired from the configuration. */
export function executorFor(deps: {
  config: Config;
  pool: PgPool;
  directory: HypervisorDirectory;
  log: Logger;
  world?: WorldView;
  signal?: AbortSignal;
  onAction?: (planId: number, outcome: ActionOutcome) => void;
}): Executor {
  const e = deps.config.execution;
  const template = e.migrateUriTemplate;
  return new Executor({
    pool: deps.pool,
    hypervisors: deps.directory,
    hostPower: hostPowerFor(deps.config, deps.directory, deps.log),
    ...(deps.world ? { world: deps.world } : {}),
    log: deps.log,
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.onAction ? { onAction: deps.onAction } : {}),
    options: {
      ...DEFAULT_EXECUTOR_OPTIONS,
      owner: `${hostname()}:${process.pid}`,
      limits: checkLimits({ maxConcurrentPerHost: e.maxConcurrentPerHost, maxConcurrentPerCluster: e.maxConcurrentPerCluster, maxMigrationsPerHour: e.maxMigrationsPerHour, windows: e.windows }),
      migrationTimeoutMs: e.migrationTimeoutSeconds * 1000,
      settleMs: e.settleSeconds * 1000,
      loadTolerance: e.loadTolerance,
      ...(template ? { migrateUriFor: (host: string) => template.replaceAll('{host}', host) } : {}),
      ...(e.migrationBandwidthMiBps ? { migrationBandwidthMiBps: e.migrationBandwidthMiBps } : {}),
    },
  });
}
