import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasCode } from '../core/index.ts';
import { jarVersion } from './jars.ts';
import { javaBinary, requireJava, requireMaven } from './tools.ts';

describe('stack prerequisites', () => {
  it('a missing java gives STACK_JAVA_MISSING with what to install', async () => {
    await assert.rejects(requireJava('/nonexistent/bin/java', 17), (err) => hasCode(err, 'STACK_JAVA_MISSING') && /install a JDK/.test(err.message));
  });

  it('the machine java is accepted at 17 and refused when a newer major is demanded', async () => {
    const major = await requireJava('java', 17);
    assert.ok(major >= 17);
    await assert.rejects(requireJava('java', major + 1), (err) => hasCode(err, 'STACK_JAVA_TOO_OLD'));
  });

  it('a missing mvn gives STACK_MAVEN_MISSING', async () => {
    await assert.rejects(requireMaven('/nonexistent/bin/mvn'), (err) => hasCode(err, 'STACK_MAVEN_MISSING') && /apt-get install maven/.test(err.message));
  });

  it('java home selection and jar versions', () => {
    assert.equal(javaBinary(undefined), 'java');
    assert.equal(javaBinary('/opt/jdk'), '/opt/jdk/bin/java');
    const dir = mkdtempSync(join(tmpdir(), 'jars-'));
    try {
      writeFileSync(join(dir, 'questdb-9.3.2.jar'), '');
      writeFileSync(join(dir, 'questdb-client-1.0.jar'), '');
      assert.equal(jarVersion(dir, 'questdb'), '9.3.2');
      assert.equal(jarVersion(dir, 'kafka_2.13'), 'unknown');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
