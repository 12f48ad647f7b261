import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode, loadConfig } from '../../core/index.ts';
import { collectdConfig, collectdConfigFor } from './index.ts';

const base = { hostId: 'kvm-07', libvirtUri: 'qemu:///system', brokers: ['k1:9092', 'k2:9092'], topic: 'novacron.collectd' };

/** `<Plugin name>` … `</Plugin>` of a generated file. */
function block(conf: string, plugin: string): string {
  const m = new RegExp(`<Plugin ${plugin}>\\n([\\s\\S]*?)\\n</Plugin>`).exec(conf);
  assert.ok(m, `a ${plugin} block`);
  return m[1]!;
}

test('the settings CollectdDecoder relies on are all in the generated file', () => {
  const conf = collectdConfig({ ...base, intervalSeconds: 15, domains: ['web-1'] });
  assert.match(conf, /^Hostname "kvm-07"$/m);
  assert.match(conf, /^Interval 15$/m);
  assert.match(conf, /^WriteThreads 1$/m);
  const virt = block(conf, 'virt');
  for (const line of ['Connection "qemu:///system"', 'HostnameFormat "hostname"', 'PluginInstanceFormat "name"', 'ExtraStats "vcpu memory"', 'Domain "web-1"']) assert.ok(virt.includes(line), line);
  const cpu = block(conf, 'cpu');
  for (const line of ['ReportByCpu false', 'ValuesPercentage true', 'ReportNumCpu true']) assert.ok(cpu.includes(line), line);
  const kafka = block(conf, 'write_kafka');
  for (const line of ['"metadata.broker.list" "k1:9092,k2:9092"', '<Topic "novacron.collectd">', 'Format JSON', 'StoreRates true', 'Key "kvm-07"']) assert.ok(kafka.includes(line), line);
  // Every LoadPlugin has its block or needs none; nothing is configured twice.
  const loaded = [...conf.matchAll(/^LoadPlugin (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(loaded, [...new Set(loaded)]);
  assert.deepEqual(loaded, ['logfile', 'virt', 'cpu', 'memory', 'interface', 'disk', 'write_kafka']);
});

test('host metrics can be left out; syslog instead of stdout', () => {
  const conf = collectdConfig({ ...base, hostMetrics: false, log: 'syslog' });
  const loaded = [...conf.matchAll(/^LoadPlugin (\S+)$/gm)].map((m) => m[1]);
  assert.deepEqual(loaded, ['syslog', 'virt', 'write_kafka']);
});

test('values that would break the file or the sample ids are refused with a code', () => {
  for (const bad of [{ hostId: 'a"b' }, { hostId: 'a,b' }, { hostId: '' }, { hostId: 'x'.repeat(63) }, { libvirtUri: 'qemu:///sys"tem' }, { topic: 'a\\b' }, { intervalSeconds: 0 }, { brokers: [] }]) {
    assert.throws(() => collectdConfig({ ...base, ...bad }), (err) => hasCode(err, 'COLLECTD_CONFIG_INVALID'), JSON.stringify(bad));
  }
});

test('collectdConfigFor uses the config\'s brokers and <prefix>.collectd topic', () => {
  const config = loadConfig({}, { KAFKA_BROKERS: 'b1:9092,b2:9093', NOVACRON_TOPIC_PREFIX: 'prod' });
  const conf = collectdConfigFor(config, { hostId: 'h1' });
  assert.ok(block(conf, 'write_kafka').includes('"metadata.broker.list" "b1:9092,b2:9093"'));
  assert.ok(conf.includes('<Topic "prod.collectd">'));
  assert.match(conf, /^Interval 10$/m);
});
