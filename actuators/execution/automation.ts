import { NovaError } from '../../core/index.ts';
import type { PlannedAction } from '../../scheduler/index.ts';

/**
 * Automation levels, as DRS operators know them, per VM group:
 * - manual: NovaCron recommends; a person approves every plan that moves the VM.
 * - partial: new VMs are placed automatically (POST /v1/placements); migrations need approval.
 * - full: plans that move only such VMs are approved and executed without a person.
 * A power-off follows the migrations that empty its host. Dry runs are allowed at every level.
 */
export type AutomationLevel = 'manual' | 'partial' | 'full';

export const AUTOMATION_LEVELS: readonly AutomationLevel[] = ['manual', 'partial', 'full'];

/** Groups of VMs (by id pattern, first match wins) and their levels; VMs in no group get `defaultLevel`. */
export interface AutomationPolicy {
  defaultLevel: AutomationLevel;
  groups: readonly { name: string; vmPattern: string; level: AutomationLevel }[];
}

/** Recommend only, until an operator opts a group in. */
export const DEFAULT_AUTOMATION: Readonly<AutomationPolicy> = Object.freeze({ defaultLevel: 'manual', groups: Object.freeze([]) });

/** Compiles a policy (EXECUTION_AUTOMATION_INVALID naming the field); returns the level of a VM id. */
export function automationOf(policy: AutomationPolicy): (vmId: string) => AutomationLevel {
  const bad = (field: string, got: unknown): never => {
    throw new NovaError('EXECUTION_AUTOMATION_INVALID', `automation ${field} is invalid: ${JSON.stringify(got)} (levels: ${AUTOMATION_LEVELS.join(', ')}; vmPattern: a regular expression)`, { details: { field } });
  };
  if (!AUTOMATION_LEVELS.includes(policy.defaultLevel)) bad('defaultLevel', policy.defaultLevel);
  const groups = policy.groups.map((g, i) => {
    if (!AUTOMATION_LEVELS.includes(g.level)) bad(`groups[${i}].level`, g.level);
    if (typeof g.vmPattern !== 'string' || g.vmPattern.length > 512) bad(`groups[${i}].vmPattern`, g.vmPattern);
    try {
      return { re: new RegExp(`^(?:${g.vmPattern})$`), level: g.level };
    } catch {
      return bad(`groups[${i}].vmPattern`, g.vmPattern);
    }
  });
  return (vmId) => groups.find((g) => g.re.test(vmId))?.level ?? policy.defaultLevel;
}

/** Which of a plan's actions may run without a person: migrations of full-automation VMs, and power-offs of hosts all of whose departures may. */
export function autoApprovable(actions: readonly PlannedAction[], levelOf: (vmId: string) => AutomationLevel): boolean[] {
  const hostOk = new Map<string, boolean>();
  const out = actions.map((a) => {
    if (a.kind !== 'migrate') return false;
    const ok = levelOf(a.vmId) === 'full';
    hostOk.set(a.fromHost, (hostOk.get(a.fromHost) ?? true) && ok);
    return ok;
  });
  actions.forEach((a, i) => {
    if (a.kind === 'power-off') out[i] = hostOk.get(a.hostId) ?? false;
  });
  return out;
}
