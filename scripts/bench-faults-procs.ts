/**
 * Processes from /proc (Linux), for bench:faults: the tree a run started, and whether each is still there.
 * A process is identified by pid and start time, so a pid the kernel hands out again is not mistaken for it.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  start: number;
  comm: string;
}

/** The process, unless it is gone or a zombie (a zombie has exited; only its parent has not reaped it yet). */
export function procInfo(pid: number): Proc | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses: split after the last ')'.
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return { pid, ppid: Number(fields[1]), start: Number(fields[19]), comm };
}

function allPids(): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Every live descendant of `root` (children, their children, …), not `root` itself. */
export function descendants(root: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const pid of allPids()) {
    const proc = procInfo(pid);
    if (proc) children.set(proc.ppid, [...(children.get(proc.ppid) ?? []), proc]);
  }
  const out: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Still the same live process. */
export function alive(proc: Proc): boolean {
  return procInfo(proc.pid)?.start === proc.start;
}

/** Live processes (other than this one) whose command line contains one of `markers`. */
export function processesMentioning(markers: string[]): Proc[] {
  const out: Proc[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const proc = markers.some((m) => cmdline.includes(m)) ? procInfo(pid) : undefined;
      if (proc) out.push(proc);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
