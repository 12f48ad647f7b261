import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino, type Logger } from 'pino';
import { NovaError } from '../../core/index.ts';

/** A logger whose lines are kept (debug and up by default), so a test can check what was (not) logged. */
export function logSink(level: string = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** The NovaError a promise rejects with (fails the test when it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<NovaError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof NovaError, `expected a NovaError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
