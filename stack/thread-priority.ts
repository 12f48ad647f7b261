import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** One thread of a process as Linux lists it. */
export interface ProcessThread {
  tid: number;
  /** The thread's name (comm, from `/proc/<pid>/task/<tid>/stat`), cut to 15 characters. */
  name: string;
  nice: number;
}

/** The threads of process `pid` (Linux /proc); empty where there is no /proc or the process is gone. */
export function threadsOf(pid: number): ProcessThread[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // "tid (name) state …": the name (comm) may hold spaces and parentheses, so it ends at the
      // last ')'; of the fields after it, state is field 3 and nice field 19.
      const nameEnd = stat.lastIndexOf(')');
      const fields = stat.slice(nameEnd + 2).split(' ');
      return [{ tid: Number(tid), name: stat.slice(stat.indexOf('(') + 1, nameEnd), nice: Number(fields[19 - 3]) }];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

/**
 * Sets the nice value of every thread of process `pid` whose name starts with `namePrefix`;
 * returns the thread ids changed. Linux schedules threads, not processes, so one thread pool of
 * a server can be put behind the rest of it.
 */
export function reniceThreads(pid: number, namePrefix: string, nice: number): number[] {
  const changed: number[] = [];
  for (const t of threadsOf(pid)) {
    if (!t.name.startsWith(namePrefix)) continue;
    try {
      setPriority(t.tid, nice);
      changed.push(t.tid);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return changed;
}
