import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/** One thread of a process as Linux lists it. */
export interface ProcessThread {
  tid: number;
  /** `/proc/<pid>/task/<tid>/comm`: the thread's name, cut to 15 characters. */
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
      // Fields after the name (which may hold spaces and parentheses): state is field 3, nice field 19.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [{ tid: Number(tid), name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trimEnd(), nice: Number(fields[19 - 3]) }];
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
