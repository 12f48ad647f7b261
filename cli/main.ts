import { createLogger, describeError, loadConfig, NovaError } from '../core/index.ts';
import { stackCommand } from './stack-command.ts';
import { say } from './output.ts';

const HELP = `novacron — self-optimizing KVM/cloud fleet

usage: ./novacron <command> [options]

  stack up|down|status   start/stop/inspect the local Kafka + QuestDB + PostgreSQL
  demo                   stack up, then simulate → stream → forecast → plan → API, and summarize
  test [files]           install, typecheck, stack up, run the tests (what CI runs)
  simulate               produce a synthetic or PlanetLab fleet's samples to Kafka
  worker                 run the streams consumer (Kafka → validate/DLQ → QuestDB)
  agent                  the host agent: this host (procfs) + its libvirt VMs → samples to Kafka (--help)
  collectd-config        print a collectd.conf that feeds this host's VMs to NovaCron via Kafka (--help)
  plan                   forecast, plan, dry-run against libvirt, store it; or replan a saved snapshot (--help)
  plans                  list, show, approve or reject stored plans (--help)
  execute                the executor: carry approved plans out on the hypervisors, crash-safe (--help)
  backtest               replay a PlanetLab or Bitbrains trace through our policy and the baselines (--help)
  train                  train the quantile forecaster on QuestDB history; register it (promoted only if it beats the baselines)
  serve                  run the HTTP API
  keys                   create, list or revoke the API's keys (--help)

Each command takes --help.
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
      return stackCommand(rest[0], config, log, rest.slice(1));
    case 'demo': {
      const { demoCommand } = await import('./demo-command.ts');
      return demoCommand(rest, config, log);
    }
    case 'execute':
    case 'plans': {
      const { executeCommand, plansCommand } = await import('./execute-command.ts');
      return command === 'execute' ? executeCommand(rest, config, log) : plansCommand(rest, config, log);
    }
    case 'agent': {
      const { agentCommand } = await import('./agent-command.ts');
      return agentCommand(rest, config, log);
    }
    case 'collectd-config': {
      const { collectdConfigCommand } = await import('./collectd-command.ts');
      return collectdConfigCommand(rest, config, log);
    }
    case 'keys': {
      const { keysCommand } = await import('./keys-command.ts');
      return keysCommand(rest, config, log);
    }
    case 'simulate':
    case 'worker':
    case 'serve':
    case 'plan':
    case 'train': {
      const usage: Record<string, string> = {
        worker: 'usage: ./novacron worker   (consumes the sample topics into QuestDB until Ctrl-C)',
        serve: 'usage: ./novacron serve    (HTTP API on NOVACRON_API_HOST:NOVACRON_API_PORT until Ctrl-C; every /v1 route needs an API key: ./novacron keys --help, docs/api.md)',
        train: 'usage: ./novacron train    (train + evaluate the forecaster on QuestDB history, register the version in PostgreSQL)',
      };
      if (usage[command] && (rest.includes('--help') || rest.includes('-h'))) return say(usage[command]!), 0;
      const commands = await import('./service-commands.ts');
      const { planCommand } = await import('./plan-command.ts');
      const run = { simulate: commands.simulateCommand, worker: commands.workerCommand, serve: commands.serveCommand, plan: planCommand, train: commands.trainCommand }[command];
      return run(rest, config, log);
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
