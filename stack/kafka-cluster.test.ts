import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../core/index.ts';
import { clusterNodes } from './kafka-cluster.ts';
import { newKafkaClusterId, serverProperties, singleNode } from './kafka.ts';

const props = (text: string): Map<string, string> =>
  new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

test('three nodes from the base port: each its broker and controller port, one quorum of all three', () => {
  const config = loadConfig({}, { NOVACRON_KAFKA_PORT: '19092', NOVACRON_KAFKA_NODES: '3' });
  const nodes = clusterNodes(config);
  assert.deepEqual(nodes.map((n) => [n.nodeId, n.port, n.controllerPort]), [[1, 19092, 19093], [2, 19094, 19095], [3, 19096, 19097]]);
  for (const n of nodes) assert.equal(n.voters, '1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097');
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096'], 'clients bootstrap from every node');
  assert.equal(config.kafka.replication, 3);
  assert.equal(config.kafka.minInsync, 2);
});

test('a cluster node replicates everything 3 times and needs 2 in sync', () => {
  const config = loadConfig({}, { NOVACRON_KAFKA_PORT: '19092', NOVACRON_KAFKA_NODES: '3' });
  const p = props(serverProperties(config, '/data/2', clusterNodes(config)[1]!));
  assert.equal(p.get('node.id'), '2');
  assert.equal(p.get('listeners'), 'PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095');
  assert.equal(p.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:19094');
  assert.equal(p.get('controller.quorum.voters'), '1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097');
  assert.equal(p.get('log.dirs'), '/data/2');
  for (const k of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'share.coordinator.state.topic.replication.factor', 'default.replication.factor']) assert.equal(p.get(k), '3', k);
  for (const k of ['transaction.state.log.min.isr', 'share.coordinator.state.topic.min.isr', 'min.insync.replicas']) assert.equal(p.get(k), '2', k);
});

test('the single node keeps its properties: one voter, replication 1, no cluster settings', () => {
  const config = loadConfig({}, { NOVACRON_KAFKA_PORT: '9092' });
  assert.equal(config.kafka.nodes, 1);
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
  const p = props(serverProperties(config, '/data'));
  assert.deepEqual(p, props(serverProperties(config, '/data', singleNode(config))));
  assert.equal(p.get('node.id'), '1');
  assert.equal(p.get('controller.quorum.voters'), '1@127.0.0.1:9093');
  assert.equal(p.get('listeners'), 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
  for (const k of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr', 'share.coordinator.state.topic.replication.factor']) assert.equal(p.get(k), '1', k);
  for (const k of ['default.replication.factor', 'min.insync.replicas', 'share.coordinator.state.topic.min.isr']) assert.equal(p.has(k), false, `${k} is left to Kafka's default`);
  assert.equal(p.size, 16, "the same 16 settings as before the cluster existed");
});

test('NOVACRON_KAFKA_NODES accepts 1 or 3 only', () => {
  assert.throws(() => loadConfig({}, { NOVACRON_KAFKA_NODES: '2' }), /kafka\.nodes/);
  assert.throws(() => loadConfig({}, { NOVACRON_KAFKA_NODES: 'three' }), /kafka\.nodes/);
});

test('new cluster ids are 22 base64url characters and never start with "-" (the storage tool would read one as an option)', () => {
  const ids = Array.from({ length: 5000 }, newKafkaClusterId);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
  assert.equal(new Set(ids).size, ids.length, 'ids are random');
});
