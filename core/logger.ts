import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines (pino) to stderr so stdout stays free for command output. */
export function createLogger(name: string, level: string = 'info'): Logger {
  return pino({ name, level, base: { name } }, pino.destination(2));
}
