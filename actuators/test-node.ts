import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NovaError, xmlEscape } from '../core/index.ts';
import { assertHostId } from './hypervisor.ts';

/** A host to describe for libvirt's test driver. */
export interface TestNodeHost {
  hostId: string;
  cpus: number;
  memBytes: number;
}

/** A domain on a test-driver host. */
export interface TestNodeDomain {
  name: string;
  vcpus: number;
  memBytes: number;
  running: boolean;
}

// libvirt's test driver reads a whole node from one file (`test:///abs/file.xml`): the node's
// <cpu> and <memory> (KiB), and inline <domain type='test'> elements. Domains start running
// unless <test:runstate> (from the driver's own XML namespace) says otherwise; 5 is
// VIR_DOMAIN_SHUTOFF. Memory is written in KiB, rounded up as libvirt itself rounds.
const TEST_NS = 'http://libvirt.org/schemas/domain/test/1.0';
const VIR_DOMAIN_SHUTOFF = 5;

/** Escapes text for XML element content and attribute values. */

function kib(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

function positiveInt(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new NovaError('TEST_NODE_INVALID', `${what} must be a positive integer, got ${value}`);
  }
}

function domainXml(d: TestNodeDomain): string {
  const runstate = d.running ? '' : `\n    <test:runstate>${VIR_DOMAIN_SHUTOFF}</test:runstate>`;
  return `  <domain type='test' xmlns:test='${TEST_NS}'>
    <name>${xmlEscape(d.name)}</name>
    <memory unit='KiB'>${kib(d.memBytes)}</memory>
    <currentMemory unit='KiB'>${kib(d.memBytes)}</currentMemory>
    <vcpu>${d.vcpus}</vcpu>
    <os><type>hvm</type></os>${runstate}
  </domain>`;
}

/** Builds the test-driver node XML for a host and its domains. */
export function testNodeXml(host: TestNodeHost, domains: readonly TestNodeDomain[]): string {
  positiveInt(host.cpus, `cpus of ${host.hostId}`);
  positiveInt(host.memBytes, `memBytes of ${host.hostId}`);
  const seen = new Set<string>();
  for (const d of domains) {
    if (d.name.trim() === '' || /[\n\r]/.test(d.name)) throw new NovaError('TEST_NODE_INVALID', `domain name ${JSON.stringify(d.name)} is empty or spans lines`);
    if (seen.has(d.name)) throw new NovaError('TEST_NODE_INVALID', `domain "${d.name}" appears twice on ${host.hostId}`);
    seen.add(d.name);
    positiveInt(d.vcpus, `vcpus of ${d.name}`);
    positiveInt(d.memBytes, `memBytes of ${d.name}`);
  }
  // One NUMA cell, one socket, `cpus` cores: nodeinfo then reports exactly `cpus` CPUs.
  return `<node>
  <cpu><mhz>2000</mhz><model>x86_64</model><nodes>1</nodes><sockets>1</sockets><cores>${host.cpus}</cores><threads>1</threads><active>${host.cpus}</active></cpu>
  <memory>${kib(host.memBytes)}</memory>
${domains.map(domainXml).join('\n')}
</node>
`;
}

/** Writes `<dir>/<hostId>.xml` for libvirt's test driver and returns its `test:///abs/path.xml` URI. */
export async function writeTestNode(dir: string, host: TestNodeHost, domains: readonly TestNodeDomain[]): Promise<string> {
  assertHostId(host.hostId);
  const xml = testNodeXml(host, domains);
  const absDir = resolve(dir);
  await mkdir(absDir, { recursive: true });
  const file = join(absDir, `${host.hostId}.xml`);
  await writeFile(file, xml, 'utf8');
  return testNodeUri(file);
}

/** The test-driver URI of a node file: libvirt wants the absolute path percent-encoded. */
export function testNodeUri(file: string): string {
  return `test://${pathToFileURL(resolve(file)).pathname}`;
}
