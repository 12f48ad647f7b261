import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { reniceThreads, threadsOf } from './thread-priority.ts';

test('reniceThreads sets the nice value of the threads whose name starts with the prefix, and only those', async () => {
  // `sleep` runs as one thread named "sleep"; this test process's own threads are named "node".
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(child, 'spawn');
  try {
    const pid = child.pid!;
    assert.deepEqual(threadsOf(pid).map((t) => [t.name, t.nice]), [['sleep', 0]]);
    assert.deepEqual(reniceThreads(pid, 'nomatch', 7), []);
    assert.equal(threadsOf(pid)[0]!.nice, 0, 'a thread of another name is left alone');
    assert.deepEqual(reniceThreads(pid, 'sle', 7), [pid]);
    assert.equal(threadsOf(pid)[0]!.nice, 7);
    assert.ok(threadsOf(process.pid).every((t) => t.nice === 0 || t.name !== 'node'), "the caller's threads are not touched");
  } finally {
    child.kill();
    await once(child, 'exit');
  }
  assert.deepEqual(reniceThreads(child.pid!, 'sleep', 7), [], 'a process that is gone: nothing to change');
  assert.deepEqual(threadsOf(child.pid!), []);
});
