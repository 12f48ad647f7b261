import type { ApiDeps } from '../api/index.ts';
import { describeError, type Logger, type MessageBus, type PgPool, type QuestDbClient } from '../core/index.ts';
import { dryRunsForPlan } from '../actuators/index.ts';
import { latestPlan, listHosts } from '../scheduler/index.ts';

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch (err) {
    return describeError(err);
  }
}

/** Wires the API's reads to PostgreSQL, and its health checks to every server it depends on. */
export function apiDeps(pool: PgPool, questdb: QuestDbClient, bus: MessageBus, logger: Logger): ApiDeps {
  return {
    logger,
    latestPlan: () => latestPlan(pool),
    listHosts: () => listHosts(pool),
    dryRunsForPlan: (planId) => dryRunsForPlan(pool, planId),
    health: async () => {
      const [postgres, questdbState, kafka] = await Promise.all([
        check(() => pool.query('select 1')),
        check(() => questdb.query('select 1')),
        check(() => bus.ensureTopics([])),
      ]);
      return { postgres, questdb: questdbState, kafka };
    },
  };
}
