import type { Config, Logger } from '../core/index.ts';
import { stackDown, stackStatus, stackUp } from '../stack/index.ts';
import { formatStatus, say } from './output.ts';

/** `novacron stack up|down|status` */
export async function stackCommand(action: string | undefined, config: Config, log: Logger): Promise<number> {
  switch (action) {
    case 'up': {
      const statuses = await stackUp(config, log, say);
      say('stack: up');
      for (const s of statuses) say(formatStatus(s));
      say(`  data and logs under ${config.homeDir}/stack`);
      return 0;
    }
    case 'down': {
      for (const r of await stackDown(config, log)) say(`  ${r.name.padEnd(9)} ${r.result}`);
      return 0;
    }
    case 'status': {
      const statuses = await stackStatus(config, log);
      for (const s of statuses) say(formatStatus(s));
      return statuses.every((s) => s.state === 'running' || s.state === 'external') ? 0 : 3;
    }
    default:
      say('usage: novacron stack up|down|status');
      return 2;
  }
}
