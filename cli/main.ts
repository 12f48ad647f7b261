import { createLogger, describeError, loadConfig, NovaError } from '../core/index.ts';
import { stackCommand } from './stack-command.ts';
import { say } from './output.ts';

const HELP = `novacron — self-optimizing KVM/cloud fleet

usage: ./novacron <command> [options]

  stack up|down|status   start/stop/inspect the local Kafka + QuestDB + PostgreSQL
  demo                   stack up, then simulate → stream → forecast → plan → API, and summarize
  test                   install, stack up, run all tests (what CI runs)
  help                   this text

Configuration is by environment variables: see docs/configuration.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    say(HELP);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  // Interactive commands print their own progress; their logs (stderr) default to warnings only.
  const level = process.env.NOVACRON_LOG_LEVEL ? config.logLevel : 'warn';
  const log = createLogger(`novacron-${command}`, level);
  switch (command) {
    case 'stack':
      return stackCommand(rest[0], config, log);
    case 'demo': {
      const { demoCommand } = await import('./demo-command.ts');
      return demoCommand(rest, config, log);
    }
    default:
      say(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`novacron: ${describeError(err)}\n`);
    if (!(err instanceof NovaError)) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exit(err instanceof NovaError && err.retriable ? 75 : 1);
  },
);
