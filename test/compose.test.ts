// docker-compose.yml and the Dockerfile against the code (no Docker engine runs here): the
// services of the production topology, every env var our processes get is one core/config.ts
// reads, ports are the config defaults, Kafka runs as stack/ runs it, each service has a health
// check, and no password is written in the file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig, localKafkaPorts, PROJECT_ROOT } from '../core/index.ts';
import { serverProperties } from '../stack/kafka.ts';
import { QUESTDB_WORKER_IDLE, QUESTDB_WORKER_POOLS } from '../stack/questdb.ts';
import { configEnvVars } from './support/env-vars.ts';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  profiles?: string[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[] };
}

const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
// Defaults only: the environment of whoever runs the test must not change what is compared.
const defaults = loadConfig({});
const ours = (s: Service) => s.image === 'novacron:latest';
const env = (s: Service) => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
/** A value as compose would pass it: `${VAR:-default}` → its default; a required `${VAR:?…}` or empty `${VAR:-}` (the user must set it) → "x". */
const filled = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]+)\}/g, '$1').replace(/\$\{[^}]*\}/g, 'x');

/** Each of our processes: its CLI command and the port its /healthz must be on (the config default). */
const PROCESSES: Record<string, { command: string; port?: number }> = {
  simulator: { command: 'simulate' },
  agent: { command: 'agent', port: defaults.agent.metricsPort },
  worker: { command: 'worker', port: defaults.worker.metricsPort },
  planner: { command: 'plan', port: defaults.planner.metricsPort },
  executor: { command: 'execute', port: defaults.executor.metricsPort },
  api: { command: 'serve', port: defaults.api.port },
};

const published = (s: Service) => (s.ports ?? []).map((p) => Number(p.split(':').at(-1)));

describe('docker-compose.yml', () => {
  it('has the servers, Grafana and every one of our processes, from our image', () => {
    for (const name of ['kafka', 'questdb', 'postgres', 'grafana']) assert.ok(services[name], `service ${name}`);
    for (const [name, p] of Object.entries(PROCESSES)) {
      const s = services[name];
      assert.ok(s, `service ${name}`);
      assert.ok(ours(s) && s.build === '.', `${name} runs the image built from the Dockerfile`);
      assert.equal(s.command?.[0], p.command, `${name} runs ./novacron ${p.command}`);
    }
    // Two streams workers in one consumer group (more with --scale, up to the partitions).
    assert.equal(services.worker!.deploy?.replicas, 2);
    assert.ok((services.worker!.deploy?.replicas ?? 0) <= defaults.kafka.partitions);
    // The planner runs as a service, not one cycle.
    assert.ok(services.planner!.command!.includes('--every'));
    assert.deepEqual(Object.entries(services).filter(([, s]) => ours(s)).map(([n]) => n).sort(), Object.keys(PROCESSES).sort());
  });

  it("gives our processes only settings core/config.ts reads", () => {
    const known = configEnvVars();
    for (const [name, s] of Object.entries(services).filter(([, s]) => ours(s))) {
      for (const key of Object.keys(env(s))) assert.ok(known.has(key), `${name}: ${key} is not a setting core/config.ts reads`);
      // And every value is one the config accepts (placeholders filled with something plausible).
      const values = Object.fromEntries(Object.entries(env(s)).map(([k, v]) => [k, filled(v)]));
      assert.doesNotThrow(() => loadConfig(values), `${name}'s environment is a valid configuration`);
    }
  });

  it('health-checks every service; ours on /healthz at the port their config sets', () => {
    for (const [name, s] of Object.entries(services)) {
      const test = s.healthcheck?.test ?? [];
      assert.ok(test.length > 1 && (test[0] === 'CMD' || test[0] === 'CMD-SHELL'), `${name} has a healthcheck`);
    }
    for (const [name, p] of Object.entries(PROCESSES)) {
      if (p.port === undefined) continue;
      const s = services[name]!;
      const e = env(s);
      assert.ok(s.healthcheck!.test!.join(' ').includes(`http://127.0.0.1:${p.port}/healthz`), `${name} checks /healthz on ${p.port}`);
      // The port it listens on is the default, set explicitly; a listen address others can reach.
      const portVar = { agent: 'NOVACRON_AGENT_METRICS_PORT', worker: 'NOVACRON_WORKER_METRICS_PORT', planner: 'NOVACRON_PLANNER_METRICS_PORT', executor: 'NOVACRON_EXECUTOR_METRICS_PORT', api: 'NOVACRON_API_PORT' }[name]!;
      assert.equal(e[portVar], String(p.port), `${name}: ${portVar}`);
      assert.equal(e[portVar.replace(/_PORT$/, '_HOST')], '0.0.0.0', `${name} listens beyond its container`);
    }
    assert.match(services.postgres!.healthcheck!.test!.join(' '), /pg_isready/);
    assert.match(services.kafka!.healthcheck!.test!.join(' '), /kafka-broker-api-versions/);
    // QuestDB's health server is its HTTP port + 3 (as stack/questdb.ts configures it).
    assert.ok(services.questdb!.healthcheck!.test!.join(' ').includes(`/${defaults.questdb.httpPort + 3}`));
  });

  it('publishes the servers on the local stack\'s ports', () => {
    const kafka = localKafkaPorts(defaults.kafka.port, 1)[0]!;
    assert.deepEqual(published(services.kafka!), [kafka.port]);
    assert.ok(env(services.kafka!).KAFKA_LISTENERS!.includes(`CONTROLLER://:${kafka.controllerPort}`));
    assert.ok(env(services.kafka!).KAFKA_CONTROLLER_QUORUM_VOTERS!.endsWith(`:${kafka.controllerPort}`));
    assert.deepEqual(published(services.questdb!).sort(), [defaults.questdb.httpPort, defaults.questdb.pgPort, defaults.questdb.ilpTcpPort].sort());
    assert.deepEqual(published(services.postgres!), [Number(new URL(defaults.databaseUrl).port)]);
    assert.deepEqual(published(services.api!), [defaults.api.port]);
    // Our processes reach the servers on the same ports, by container name.
    const shared = env(services.worker!);
    assert.equal(new URL(filled(shared.DATABASE_URL!)).port, String(new URL(defaults.databaseUrl).port));
    assert.equal(shared.QUESTDB_HOST, 'questdb');
    assert.equal(shared.QUESTDB_PG_PORT ?? String(defaults.questdb.pgPort), '8812');
  });

  it('runs Kafka as stack/ does: KRaft, the same broker settings, 16 partitions, its log dirs on a volume', () => {
    const e = env(services.kafka!);
    // What `./novacron stack up` writes to server.properties, as the image's KAFKA_* variables.
    const props = Object.fromEntries(serverProperties(defaults, '/unused').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    const asVar = (key: string) => `KAFKA_${key.replace(/\./g, '_').toUpperCase()}`;
    // Listeners differ by design (container network + host); everything else must match.
    const differ = new Set(['listeners', 'advertised.listeners', 'controller.quorum.voters', 'log.dirs', 'listener.security.protocol.map']);
    for (const [key, value] of Object.entries(props)) {
      if (differ.has(key)) continue;
      assert.equal(e[asVar(key)], value, `${asVar(key)} = ${value} as in stack/kafka.ts`);
    }
    assert.equal(e.KAFKA_NUM_PARTITIONS, String(defaults.kafka.partitions));
    assert.equal(defaults.kafka.partitions, 16);
    assert.equal(e.KAFKA_PROCESS_ROLES, 'broker,controller');
    const logDirs = e.KAFKA_LOG_DIRS!;
    const volume = (services.kafka!.volumes ?? []).map((v) => v.split(':')).find(([, target]) => logDirs === target || logDirs.startsWith(`${target}/`));
    assert.ok(volume, `KAFKA_LOG_DIRS (${logDirs}) is on a mounted volume`);
    assert.ok(volume[0]! in compose.volumes, `${volume[0]} is a named volume`);
  });

  it("gives QuestDB the stack's worker idle settings: every pool sleeps after 100 idle loops instead of spinning", () => {
    const e = env(services.questdb!);
    for (const pool of QUESTDB_WORKER_POOLS) {
      for (const [kind, value] of Object.entries(QUESTDB_WORKER_IDLE)) {
        const name = `QDB_${pool.replace(/\./g, '_').toUpperCase()}_WORKER_${kind.toUpperCase()}_THRESHOLD`;
        assert.equal(e[name], String(value), `${name} as stack/questdb.ts sets it`);
      }
    }
  });

  it('runs the server versions stack/pom.xml pins', () => {
    const pom = readFileSync(join(PROJECT_ROOT, 'stack', 'pom.xml'), 'utf8');
    const version = (name: string) => new RegExp(`<${name}.version>([^<]+)<`).exec(pom)?.[1];
    assert.equal(services.kafka!.image, `apache/kafka:${version('kafka')}`);
    assert.equal(services.questdb!.image, `questdb/questdb:${version('questdb')}`);
  });

  it('holds no credential: every password comes from the environment (.env), with no default', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(env(s))) {
        if (/PASSWORD|SECRET|TOKEN/.test(key)) assert.match(value, /^\$\{[A-Z_]+:\?[^}]*\}$/, `${name}: ${key} must be \${VAR:?…} (required, no default)`);
        if (key === 'DATABASE_URL') assert.match(new URL(filled(value)).password, /^x$/, `${name}: DATABASE_URL's password must be a \${…} placeholder`);
        if (key === 'POSTGRES_HOST_AUTH_METHOD') assert.notEqual(value, 'trust', `${name}: no password-less PostgreSQL`);
      }
    }
    // QuestDB's built-in login must not be what a deployment runs with.
    assert.doesNotMatch(text, /\bquest\b(?!db)/);
    assert.doesNotMatch(text, /:-[^}]*(pass|secret)/i);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  it('builds on Node 20 with npm ci and runs the novacron CLI', () => {
    assert.match(dockerfile, /^FROM node:20\b/m);
    assert.match(dockerfile, /RUN npm ci\b/);
    const entry = /^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1];
    assert.deepEqual(JSON.parse(entry ?? 'null'), ['node', '--import', 'tsx', 'cli/main.ts']);
    // The health checks call curl; the actuators call virsh.
    assert.match(dockerfile, /apt-get install[^\n]*\bcurl\b/);
    assert.match(dockerfile, /apt-get install[^\n]*\blibvirt-clients\b/);
  });
});
