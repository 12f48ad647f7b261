import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBus } from './compose.ts';
import { loadConfig } from './config.ts';
import { NovaError } from './errors.ts';
import { KafkaJsBus } from './kafkajs-bus.ts';
import { createLogger } from './logger.ts';
import { loadRdKafka, RdKafkaBus } from './rdkafka-bus.ts';

const log = createLogger('test', 'silent');
const notBuilt = {
  loadRdKafka: () =>
    loadRdKafka(() => {
      throw new Error("Cannot find module 'node-rdkafka'");
    }),
};

describe('createBus picks the Kafka adapters', () => {
  it('by default consumers and producers share one node-rdkafka bus where it built (this machine), with lz4', () => {
    const config = loadConfig({}, {});
    assert.equal(config.kafka.client, 'auto');
    assert.equal(config.kafka.compression, 'lz4');
    assert.ok(createBus(config, log) instanceof RdKafkaBus);
  });

  it('by default, where node-rdkafka did not build, everything falls back to kafkajs (which sends uncompressed), after one try to load it', () => {
    let tries = 0;
    const counting = { loadRdKafka: () => (tries++, notBuilt.loadRdKafka()) };
    assert.ok(createBus(loadConfig({}, {}), log, counting) instanceof KafkaJsBus);
    assert.equal(tries, 1);
  });

  it('NOVACRON_KAFKA_CLIENT=kafkajs keeps consumers on kafkajs, turns compression off, and producers still default to rdkafka', () => {
    const config = loadConfig({}, { NOVACRON_KAFKA_CLIENT: 'kafkajs', NOVACRON_KAFKA_PRODUCER_CLIENT: 'auto' });
    assert.equal(config.kafka.compression, 'none');
    const bus = createBus(config, log);
    assert.ok(!(bus instanceof KafkaJsBus) && !(bus instanceof RdKafkaBus), 'a composite: kafkajs consumers, rdkafka producers');
  });

  it('asking for rdkafka by name where it did not build is KAFKA_CLIENT_MISSING, not a silent fallback', () => {
    assert.throws(() => createBus(loadConfig({}, { NOVACRON_KAFKA_CLIENT: 'rdkafka' }), log, notBuilt), (e: NovaError) => e.code === 'KAFKA_CLIENT_MISSING');
    assert.throws(() => createBus(loadConfig({}, { NOVACRON_KAFKA_PRODUCER_CLIENT: 'rdkafka' }), log, notBuilt), (e: NovaError) => e.code === 'KAFKA_CLIENT_MISSING');
  });

  it('an unknown adapter name is refused naming the setting', () => {
    assert.throws(() => loadConfig({}, { NOVACRON_KAFKA_CLIENT: 'librdkafka' }), /kafka\.client/);
  });
});
