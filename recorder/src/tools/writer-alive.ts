/**
 * Whether the process that writes a bundle (manifest.json `writer`) is still running: `repair` refuses a bundle whose
 * writer may be alive, `verify` calls an unfinished bundle whose writer is running "live".
 */
import { hostname } from 'node:os';
import type { Manifest } from '@flowtape/schema';

export interface WriterLiveness {
  /** Alive, or not known to be gone (no pid, another host): what a tool that must not race the writer assumes. */
  alive: boolean;
  /** Whether `alive` was found out (a pid on this host), rather than assumed. */
  known: boolean;
  reason: string;
}

export function writerAlive(manifest: Manifest | undefined): WriterLiveness {
  const pid = manifest?.writer.pid;
  if (!manifest) return { alive: true, known: false, reason: 'manifest.json is missing, so whether the writer is alive is unknown' };
  if (pid === undefined) {
    return { alive: true, known: false, reason: 'manifest.json names no writer pid (a deterministic run?), so whether the writer is alive is unknown' };
  }
  if (manifest.writer.hostname && manifest.writer.hostname !== hostname()) {
    return { alive: true, known: false, reason: `the writer ran on another host (${manifest.writer.hostname}); whether it is alive is unknown` };
  }
  if (pid === process.pid) return { alive: true, known: true, reason: `the writer is this process (pid ${pid})` };
  try {
    process.kill(pid, 0);
    return { alive: true, known: true, reason: `the writer (pid ${pid}) is still running` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return { alive: true, known: true, reason: `the writer (pid ${pid}) is still running` };
    return { alive: false, known: true, reason: `the writer (pid ${pid}) is gone` };
  }
}
