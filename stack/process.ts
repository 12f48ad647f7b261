import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../core/index.ts';


/** The pid recorded in a pid file, if that process is still alive. */
export function livePid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Starts a server that outlives this process: its own process group, output appended to
 * `logFile`, pid written to `pidFile` so a later `stack down` stops exactly it.
 */
export function spawnDetached(command: string, args: string[], opts: { logFile: string; pidFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): number {
  const out = openSync(opts.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    writeFileSync(opts.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; removes the pid file. */
export async function stopPid(pid: number, pidFile: string, graceMs = 30_000): Promise<'stopped' | 'killed'> {
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the whole group: launchers may have children
    } catch {
      try { process.kill(pid, sig); } catch { /* already gone */ }
    }
  };
  signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  let how: 'stopped' | 'killed' = 'stopped';
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      signalGroup('SIGKILL');
      how = 'killed';
      await sleep(500);
      break;
    }
    await sleep(200);
  }
  rmSync(pidFile, { force: true });
  return how;
}

/** Last `lines` lines of a log file, for error messages when a server dies on start. */
export function tailOf(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
