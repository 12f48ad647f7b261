import { pgApiKeyStore, type ApiDeps, type PlansPort } from '../api/index.ts';
import { describeError, type Logger, type MessageBus, type PgPool, type QuestDbClient } from '../core/index.ts';
import { actionStateCounts, dryRunsForPlan, executionEvents, listExecutions, loadExecution, transitionPlan } from '../actuators/index.ts';
import { latestPlan, listHosts, loadCatalogFile, loadPlan, PlacementState, placeRequest, type InstanceCatalog } from '../scheduler/index.ts';

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch (err) {
    return describeError(err);
  }
}

/** The plan routes' port: the scheduler's plan store and the executor's state store. */
export function plansPort(pool: PgPool): PlansPort {
  return {
    list: async (opts) => {
      const rows = await listExecutions(pool, opts);
      const counts = await actionStateCounts(pool, rows.map((r) => r.planId));
      return rows.map((r) => ({ ...r, actions: counts.get(r.planId)! }));
    },
    load: (id) => loadPlan(pool, id),
    execution: (id) => loadExecution(pool, id),
    events: (id) => executionEvents(pool, id),
    transition: (id, to, actor, reason, expect) => transitionPlan(pool, id, to, actor, reason, expect),
  };
}

/** Options of the API's wiring beyond the servers it reads. */
export interface ApiWiringOptions {
  /** How long a verified API key is cached (default 30 s): the longest a revocation from elsewhere takes to bite. */
  keyCacheMs?: number;
}

/** Wires the API's reads to PostgreSQL, and its health checks to every server it depends on. */
export function apiDeps(pool: PgPool, questdb: QuestDbClient, bus: MessageBus, logger: Logger, cloudCatalogPath?: string, options: ApiWiringOptions = {}): ApiDeps {
  let catalog: Promise<InstanceCatalog> | undefined;
  return {
    plans: plansPort(pool),
    keys: pgApiKeyStore(pool),
    ...(options.keyCacheMs !== undefined ? { keyCacheMs: options.keyCacheMs } : {}),
    placeVm: async (request) => {
      // Each host's current predicted load (from the latest plan's inventory) stands in for its VMs.
      const hosts = await listHosts(pool);
      const state = hosts.length === 0 ? null : new PlacementState({
        takenAt: Date.now(),
        hosts: hosts.map((h) => ({ hostId: h.hostId, cpuCores: h.cpuCores, memBytes: h.memBytes })),
        vms: hosts.filter((h) => h.vmCount > 0).map((h) => ({ vmId: `load:${h.hostId}`, hostId: h.hostId, cpuCores: h.cpuP95Cores, memBytes: h.memReservedBytes })),
      });
      if (cloudCatalogPath) catalog ??= loadCatalogFile(cloudCatalogPath);
      return placeRequest(state, request, catalog ? await catalog : undefined);
    },
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
