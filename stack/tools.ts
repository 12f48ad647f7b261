import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { NovaError } from '../core/index.ts';

const run = promisify(execFile);

/** The java binary to use: `<javaHome>/bin/java` when a home is configured, else `java` from PATH. */
export function javaBinary(javaHome: string | undefined): string {
  return javaHome ? join(javaHome, 'bin', 'java') : 'java';
}

/** Major version of a java binary; throws a clear error when it is missing or too old. */
export async function requireJava(java: string, minMajor: number): Promise<number> {
  let text: string;
  try {
    const { stdout, stderr } = await run(java, ['-version']);
    text = `${stderr}${stdout}`;
  } catch (cause) {
    throw new NovaError('STACK_JAVA_MISSING', `Java ${minMajor}+ is needed to run Kafka and QuestDB, but "${java}" could not be run; install a JDK (Debian: apt-get install openjdk-17-jdk-headless) or set NOVACRON_KAFKA_JAVA_HOME / NOVACRON_QUESTDB_JAVA_HOME`, { cause });
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= minMajor)) {
    throw new NovaError('STACK_JAVA_TOO_OLD', `"${java}" is Java ${Number.isNaN(major) ? '(unknown version)' : major}; Java ${minMajor}+ is needed`);
  }
  return major;
}

/** Throws a clear error when Maven is not on PATH. */
export async function requireMaven(mvn = 'mvn'): Promise<void> {
  try {
    await run(mvn, ['-v']);
  } catch (cause) {
    throw new NovaError('STACK_MAVEN_MISSING', 'Maven is needed to fetch the Kafka and QuestDB jars from Maven Central, but "mvn" could not be run; install it (Debian: apt-get install maven)', { cause });
  }
}
