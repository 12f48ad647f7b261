import { hypervisorFactory, snapshotFromHypervisors, transitionPlan, UriTemplateDirectory, type ActionOutcome } from '../actuators/index.ts';
import { loadConfig, type Config, type Logger, type PgPool } from '../core/index.ts';
import { planFleet, savePlan } from '../scheduler/index.ts';
import { acquireRealHosts } from '../stack/index.ts';
import { executorFor, registerPlan } from './execution.ts';

const HOST_A = 'test-host-a';
const HOST_B = 'test-host-b';

/**
 * The demo's last act, on real hypervisors: two libvirtd test hosts (stack/libvirt-hosts.ts)
 * with two tiny QEMU guests on host A; host A goes into maintenance, the planner (planFleet)
 * plans its evacuation, the plan is registered (proposed: the default automation level is
 * manual), approved, and the executor live-migrates the guests to B and verifies them there.
 * Returns summary lines; on a machine that cannot run the test hosts, says why instead.
 */
export async function executeOnTestHosts(base: Config, pool: PgPool, log: Logger, say: (line: string) => void): Promise<string[]> {
  const acquired = await acquireRealHosts();
  if ('skip' in acquired) {
    say(`      skipped: ${acquired.skip}`);
    return [`  execution        : skipped (${acquired.skip})`];
  }
  const hosts = acquired;
  try {
    const guests = [await hosts.bootGuest(), await hosts.bootGuest()];
    say(`      two libvirtd hosts up, guests ${guests.join(', ')} running on ${HOST_A}; ${HOST_A} goes into maintenance`);
    const config = loadConfig(process.env, { NOVACRON_MIGRATE_URI_TEMPLATE: hosts.migrateUri, NOVACRON_SETTLE_SECONDS: '0', NOVACRON_LIBVIRT_URIS: JSON.stringify({ [HOST_A]: hosts.uriA, [HOST_B]: hosts.uriB }) });
    const directory = new UriTemplateDirectory(config.libvirtUriTemplate, hypervisorFactory(config.hypervisorAdapter), config.libvirtUris);
    const snapshot = await snapshotFromHypervisors(directory, [{ hostId: HOST_A, maintenance: true }, { hostId: HOST_B }], { takenAt: Date.now() });
    snapshot.vms = snapshot.vms.filter((v) => guests.includes(v.vmId));
    const plan = planFleet(snapshot);
    const planId = await savePlan(pool, plan);
    const registered = await registerPlan(pool, base, planId, plan.actions, 'planner');
    say(`      plan #${planId}: ${plan.actions.filter((a) => a.kind === 'migrate').length} migrations evacuating ${HOST_A} for maintenance; ${registered.state} under automation level ${base.execution.automation.defaultLevel}`);
    if (registered.state === 'proposed') {
      await transitionPlan(pool, planId, 'approved', 'demo (operator)', 'approved by ./novacron demo');
      say(`      plan #${planId} approved by "demo (operator)" (an operator would: POST /v1/plans/${planId}/approve, or ./novacron plans approve ${planId})`);
    }
    const outcomes: ActionOutcome[] = [];
    const executor = executorFor({ config, pool, directory, log, onAction: (_, o) => {
      outcomes.push(o);
      say(`      step ${o.seq}: ${o.state} — ${o.reason} (${(o.hypervisorMs / 1000).toFixed(2)} s live migration, ${(o.totalMs - o.hypervisorMs).toFixed(0)} ms executor overhead)`);
    } });
    const state = await executor.runPlan(planId);
    const onB = await Promise.all(guests.map((g) => directory.forHost(HOST_B).domain(g)));
    const moved = onB.filter((d) => d?.state === 'running').length;
    const seconds = outcomes.map((o) => (o.hypervisorMs / 1000).toFixed(2)).join(', ');
    return [`  ${`execution #${planId}`.padEnd(17)}: ${state}; ${moved} of ${guests.length} guests now run on ${HOST_B} (live migrations ${seconds} s); audit trail: ./novacron plans show ${planId}`];
  } finally {
    await hosts.teardown();
  }
}
