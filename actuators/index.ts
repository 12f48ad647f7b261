export { UriTemplateDirectory, assertHostId, isActive, type DomainInfo, type Hypervisor, type HypervisorDirectory } from './hypervisor.ts';
export { VirshHypervisor, type VirshOptions } from './virsh.ts';
export { writeTestNode, testNodeXml, testNodeUri, xmlEscape, type TestNodeHost, type TestNodeDomain } from './test-node.ts';
export { dryRunPlan, type DryRunReport, type DryRunResult } from './dry-run.ts';
export { migrateArgs, activeDomainsArgs, formatCommand, shellQuote, powerOffIntent } from './commands.ts';
export { ACTUATOR_MIGRATIONS, recordDryRun, dryRunsForPlan, type DryRunRow } from './audit-store.ts';
