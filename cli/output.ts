import type { ServiceStatus } from '../stack/index.ts';

/** Progress and results go to stdout as plain lines; logs (pino JSON) go to stderr. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function formatStatus(s: ServiceStatus): string {
  const who = s.state === 'running' ? `running (pid ${s.pid}${s.started ? ', started now' : ''})` : s.state === 'external' ? 'running (not started by novacron; left alone by down)' : s.state;
  return `  ${s.name.padEnd(9)} ${who.padEnd(48)} ${s.endpoint}  [${s.version}]`;
}
