import { NovaError } from '../core/index.ts';
import type { DomainInfo } from './hypervisor.ts';

// Parsers for virsh's human-readable output. virsh is run with LC_ALL=C, so the labels are
// the English ones below; anything else is reported rather than guessed at.

function unexpected(what: string, text: string): NovaError {
  return new NovaError('HYPERVISOR_OUTPUT_UNEXPECTED', `virsh printed ${what} in an unexpected form; is this a libvirt/virsh version the actuators support?`, {
    details: { output: text.slice(0, 2000) },
  });
}

/** `Label:   value` lines of one block (nodeinfo, dominfo) as a map. */
export function keyValues(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return out;
}

function integer(fields: Map<string, string>, key: string, block: string): number {
  const value = fields.get(key);
  if (value === undefined || !/^\d+$/.test(value)) throw unexpected(`"${key}"`, block);
  return Number(value);
}

function kibAsBytes(fields: Map<string, string>, key: string, block: string): number {
  const match = /^(\d+) KiB$/.exec(fields.get(key) ?? '');
  if (!match) throw unexpected(`"${key}"`, block);
  return Number(match[1]) * 1024;
}

/** Parses `virsh nodeinfo`. */
export function parseNodeInfo(text: string): { cpus: number; memoryBytes: number } {
  const fields = keyValues(text);
  return { cpus: integer(fields, 'CPU(s)', text), memoryBytes: kibAsBytes(fields, 'Memory size', text) };
}

/** Parses `virsh list --name`: one name per line, blank lines ignored. */
export function parseNameList(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** Parses the output of several `dominfo` commands run in one virsh call, in order. */
export function parseDomInfos(text: string): DomainInfo[] {
  // Every dominfo block starts with its `Id:` line.
  const blocks = text.split(/^(?=Id:)/m).filter((b) => b.trim() !== '');
  return blocks.map((block) => {
    const fields = keyValues(block);
    const name = fields.get('Name');
    const state = fields.get('State');
    if (name === undefined || state === undefined) throw unexpected('dominfo', block);
    return { name, state, vcpus: integer(fields, 'CPU(s)', block), memoryBytes: kibAsBytes(fields, 'Max memory', block) };
  });
}

/** Quotes one argument for virsh's own command-string parser (shell-like: '...' is literal). */
export function virshQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
