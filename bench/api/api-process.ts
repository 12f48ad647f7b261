import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../core/index.ts';


/**
 * Starts `novacron serve` — the very command users run, so the API under load is the product's
 * composition (apiDeps / apiOptionsFrom / buildApi), not a copy. Its stdout and stderr (the
 * request log at the configured level) go to files: writing them is part of what serving costs.
 */
export async function startServe(env: NodeJS.ProcessEnv, logDir: string, nodeArgs: string[] = [], timeoutMs = 120_000): Promise<{ child: ChildProcess; url: string; stderrFile: string }> {
  const stdoutFile = join(logDir, 'serve.out');
  const stderrFile = join(logDir, 'serve.log');
  const out = openSync(stdoutFile, 'w');
  const err = openSync(stderrFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(PROJECT_ROOT, 'cli', 'main.ts'), 'serve'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(stdoutFile, 'utf8');
    const m = /serve: API at (http:\/\/\S+)/.exec(text);
    if (m) return { child, url: m[1]!, stderrFile };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = readFileSync(stderrFile, 'utf8').slice(-3000);
      throw new Error(`novacron serve ${child.exitCode !== null ? `exited (${child.exitCode})` : 'did not start in time'}:\n${text}${tail}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
