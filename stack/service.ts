import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, NovaError } from '../core/index.ts';
import { livePid, spawnDetached, stopPid, tailOf } from './process.ts';
import { waitUntil } from './probe.ts';

/** One server of the local stack: how to tell it answers, and how to start it. */
export interface StackService {
  name: string;
  /** What clients connect to, for status output. */
  endpoint: string;
  version: string;
  startTimeoutMs: number;
  ready(): Promise<boolean>;
  /** The command that runs the server in the foreground (it is detached by the runner). */
  command(dir: string): Promise<{ command: string; args: string[]; cwd?: string; env?: NodeJS.ProcessEnv }>;
  /** Runs once the server answers, whoever started it (e.g. create a database); `pid` when the stack runs it. */
  afterReady?(pid: number | undefined): Promise<void>;
}

export type ServiceState = 'running' | 'external' | 'stopped' | 'unhealthy';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  endpoint: string;
  version: string;
  pid?: number;
  log?: string;
  /** True when this call started it. */
  started?: boolean;
}

/** Files of one service under the stack's home folder. */
export function serviceDir(homeDir: string, name: string): { dir: string; pidFile: string; logFile: string } {
  const dir = join(homeDir, 'stack', name);
  return { dir, pidFile: join(dir, `${name}.pid`), logFile: join(dir, `${name}.log`) };
}

/** A readiness probe that fails by saying no, never by throwing. */
function answers(svc: StackService): Promise<boolean> {
  return svc.ready().catch(() => false);
}

/**
 * Brings one service up, idempotently: a server we started earlier and still runs is reused;
 * a server someone else runs on the same endpoint is used but never owned (so `down` leaves it).
 */
export async function bringUp(svc: StackService, homeDir: string): Promise<ServiceStatus> {
  const { dir, pidFile, logFile } = serviceDir(homeDir, svc.name);
  const base = { name: svc.name, endpoint: svc.endpoint, version: svc.version, log: logFile };
  const ours = livePid(pidFile);
  if (ours !== undefined) {
    const r = await waitUntil(() => svc.ready(), { timeoutMs: svc.startTimeoutMs, stillStarting: () => isAlive(ours) });
    if (r !== 'ready') throw startFailure(svc, r, logFile);
    await svc.afterReady?.(ours);
    return { ...base, state: 'running', pid: ours, started: false };
  }
  if (await answers(svc)) {
    await svc.afterReady?.(undefined);
    return { ...base, state: 'external', started: false };
  }
  mkdirSync(dir, { recursive: true });
  const cmd = await svc.command(dir);
  const pid = spawnDetached(cmd.command, cmd.args, { logFile, pidFile, cwd: cmd.cwd ?? dir, env: cmd.env });
  const r = await waitUntil(() => svc.ready(), { timeoutMs: svc.startTimeoutMs, stillStarting: () => isAlive(pid) });
  if (r !== 'ready') {
    if (isAlive(pid)) await stopPid(pid, pidFile, 5_000);
    throw startFailure(svc, r, logFile);
  }
  await svc.afterReady?.(pid);
  return { ...base, state: 'running', pid, started: true };
}

function startFailure(svc: StackService, how: 'timeout' | 'died', logFile: string): NovaError {
  const what = how === 'died' ? 'exited during start-up' : `did not answer within ${svc.startTimeoutMs / 1000} s`;
  return new NovaError('STACK_START_FAILED', `${svc.name} (${svc.endpoint}) ${what}; last lines of ${logFile}:\n${tailOf(logFile)}`, { retriable: how === 'timeout' });
}

/** Stops the service only if this stack started it (pid file present and alive). */
export async function bringDown(svc: StackService, homeDir: string): Promise<'stopped' | 'killed' | 'not ours'> {
  const { pidFile } = serviceDir(homeDir, svc.name);
  const pid = livePid(pidFile);
  if (pid === undefined) return 'not ours';
  return stopPid(pid, pidFile);
}

export async function statusOf(svc: StackService, homeDir: string): Promise<ServiceStatus> {
  const { pidFile, logFile } = serviceDir(homeDir, svc.name);
  const pid = livePid(pidFile);
  const up = await answers(svc);
  const state: ServiceState = pid !== undefined ? (up ? 'running' : 'unhealthy') : up ? 'external' : 'stopped';
  return { name: svc.name, state, endpoint: svc.endpoint, version: svc.version, pid, log: logFile };
}
