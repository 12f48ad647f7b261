// The commands the actuators run (or, for a host power-off, intend), built in one place so
// a dry run reports exactly what execution will run.

/** Options of a migration command beyond source, domain and target. */
export interface MigrateArgsOptions {
  /** libvirt's migrateuri: the address the memory goes over. */
  migrateUri?: string;
  /** MiB/s cap. */
  bandwidthMiBps?: number;
}

/**
 * argv (after `virsh`) of a live migration of `vmId` from `sourceUri` to `targetUri`. The
 * definition moves with the domain (--persistent --undefinesource): a persistent domain left
 * defined (shut off) on its source would still count there and could be started twice.
 */
export function migrateArgs(sourceUri: string, vmId: string, targetUri: string, options: MigrateArgsOptions = {}): string[] {
  const args = ['-c', sourceUri, 'migrate', '--live', '--persistent', '--undefinesource'];
  if (options.bandwidthMiBps !== undefined) args.push('--bandwidth', String(options.bandwidthMiBps));
  // `--domain`/`--desturi` keep a name starting with '-' from being read as an option.
  args.push('--domain', vmId, '--desturi', targetUri);
  if (options.migrateUri !== undefined) args.push('--migrateuri', options.migrateUri);
  return args;
}

/** argv (after `virsh`) listing the active domains of a host: it must print nothing before a power-off. */
export function activeDomainsArgs(uri: string): string[] {
  return ['-c', uri, 'list', '--name'];
}

/** Quotes one word for a POSIX shell only when it needs it, so printed commands can be pasted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command line for people and audit rows. */
export function formatCommand(program: string, args: readonly string[]): string {
  return [program, ...args].map(shellQuote).join(' ');
}

/**
 * What a power-off will do. libvirt has no call that powers a host off (`nodesuspend` only
 * sleeps it and wakes it after a set time), so this is the intent, written as a shell comment
 * so pasting it does nothing, with the virsh precondition that will be re-checked first.
 */
export function powerOffIntent(hostId: string, uri: string): string {
  return `# intent: power off host ${shellQuote(hostId)} out-of-band (libvirt cannot power off a host); precondition: \`${formatCommand('virsh', activeDomainsArgs(uri))}\` prints nothing`;
}
