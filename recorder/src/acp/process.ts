// Process-group helpers. Agents are spawned as process-group leaders (detached) so that shutting one down
// also reaches whatever it started (e.g. codex-acp's Node wrapper runs a native binary as its child).

/** True while a process with this pid exists (zombies are reaped by Node, so they do not count). */
export function isProcessAlive(pid: number): boolean {
  return probe(pid);
}

/** True while any process remains in the process group led by `pid`. */
export function isGroupAlive(pid: number): boolean {
  return probe(-pid);
}

/** Sends `signal` to the whole process group led by `pid`; false if the group is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function probe(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves true once `check()` is false, or false after `ms`. Polls; used only while shutting down. */
export async function waitUntilGone(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
