/**
 * The bench's view of the workers' consumer group, through kafkajs's admin client. The
 * MessageBus port has no such calls, and this is bench bookkeeping, not product behaviour.
 */
import { AssignerProtocol, Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import type { Config } from '../../core/index.ts';

function admin(config: Config) {
  return new Kafka({ brokers: [...config.kafka.brokers], clientId: 'bench-ingest', logLevel: kafkaLogLevel.NOTHING }).admin();
}

/** Removes the workers' consumer group (best effort). */
export async function deleteGroup(config: Config, groupId: string): Promise<void> {
  const client = admin(config);
  try {
    await client.connect();
    await client.deleteGroups([groupId]);
  } catch {
    // An empty group expires on its own (offsets.retention.minutes); nothing to report.
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/**
 * Waits until the workers' consumer group is stable with `members` members that each hold
 * partitions. Why: a worker prints "consuming" once it has subscribed, before the group has
 * formed; the broker delays a new group's first rebalance (group.initial.rebalance.delay.ms, 3 s)
 * and a second member's join makes another, so producing at once had one worker take every
 * partition for the first ~3 s (measured: 45k landed/s of 125k offered in the first 5 s, a
 * 400k backlog the rest of the run paid for in latency). Joining is start-up, not ingest; what
 * a rebalance costs mid-stream is the fault tests' subject.
 */
export async function waitForStableGroup(config: Config, groupId: string, members: number, timeoutMs: number): Promise<void> {
  const client = admin(config);
  const deadline = Date.now() + timeoutMs;
  let seen = 'not described yet';
  try {
    await client.connect();
    while (Date.now() < deadline) {
      const { groups } = await client.describeGroups([groupId]);
      const group = groups[0];
      if (group) {
        const holding = group.members.filter((m) => {
          const assignment = m.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
          return assignment !== null && Object.values(assignment.assignment).some((partitions) => partitions.length > 0);
        }).length;
        seen = `state ${group.state}, ${group.members.length} member(s), ${holding} holding partitions`;
        if (group.state === 'Stable' && group.members.length === members && holding === members) return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await client.disconnect().catch(() => undefined);
  }
  throw new Error(`the workers' consumer group ${groupId} did not settle with ${members} member(s) holding partitions within ${timeoutMs / 1000} s (last seen: ${seen})`);
}
