// The commands the actuators run (or, for a host power-off, intend), built in one place so
// a dry run reports exactly what execution will run.

/** argv (after `virsh`) of a live migration of `vmId` from `sourceUri` to `targetUri`. */
export function migrateArgs(sourceUri: string, vmId: string, targetUri: string): string[] {
  return ['-c', sourceUri, 'migrate', '--live', vmId, targetUri];
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
