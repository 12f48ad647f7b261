import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `check` until it is true; gives up after `timeoutMs` or as soon as `stillStarting`
 * says the process died (so a crash is reported at once, not after the timeout).
 */
export async function waitUntil(check: () => Promise<boolean>, opts: { timeoutMs: number; stillStarting?: () => boolean; intervalMs?: number }): Promise<'ready' | 'timeout' | 'died'> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return 'ready';
    if (opts.stillStarting && !opts.stillStarting()) return 'died';
    await sleep(opts.intervalMs ?? 500);
  }
  return 'timeout';
}
