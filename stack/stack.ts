import { NovaError, type Config, type Logger } from '../core/index.ts';
import { ensureJars, jarDirs, type JarDirs } from './jars.ts';
import { kafkaService } from './kafka.ts';
import { postgresService } from './postgres.ts';
import { questdbService } from './questdb.ts';
import { bringDown, bringUp, statusOf, type ServiceStatus, type StackService } from './service.ts';
import { javaBinary, requireJava } from './tools.ts';

function services(config: Config, jars: JarDirs, log: Logger): StackService[] {
  return [postgresService(config), kafkaService(config, jars.kafka, log), questdbService(config, jars.questdb)];
}

/** Starts whatever of PostgreSQL, Kafka and QuestDB is not already answering; idempotent. */
export async function stackUp(config: Config, log: Logger, onProgress: (line: string) => void = () => undefined): Promise<ServiceStatus[]> {
  await requireJava(javaBinary(config.java.kafkaHome), 17);
  await requireJava(javaBinary(config.java.questdbHome), 17);
  const jars = await ensureJars(config, log);
  const [pg, kafka, questdb] = services(config, jars, log) as [StackService, StackService, StackService];
  onProgress('stack: starting postgres, kafka and questdb (up to 90 s each on first start)');
  // The JVMs start in parallel: most of their start-up is waiting, not CPU.
  const results = await Promise.allSettled([bringUp(pg, config.homeDir), bringUp(kafka, config.homeDir), bringUp(questdb, config.homeDir)]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    const first = failed[0]!.reason;
    if (first instanceof NovaError) throw first;
    throw new NovaError('STACK_START_FAILED', String((first as Error)?.message ?? first), { cause: first });
  }
  return results.map((r) => (r as PromiseFulfilledResult<ServiceStatus>).value);
}

/** Stops only the servers this stack started (found by their pid files), newest first. */
export async function stackDown(config: Config, log: Logger): Promise<{ name: string; result: string }[]> {
  const jars = jarDirs(config);
  const out: { name: string; result: string }[] = [];
  for (const svc of services(config, jars, log).reverse()) out.push({ name: svc.name, result: await bringDown(svc, config.homeDir) });
  return out;
}

export async function stackStatus(config: Config, log: Logger): Promise<ServiceStatus[]> {
  const jars = jarDirs(config);
  return Promise.all(services(config, jars, log).map((svc) => statusOf(svc, config.homeDir)));
}
