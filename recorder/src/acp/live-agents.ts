// The agents this process has running, so that none outlives it: when the process exits (however it exits), each
// still running has its process group killed, synchronously, as a last resort.

export interface LiveAgent {
  /** Kills the agent's process group at once (SIGKILL), if it is still running. */
  killSync(): void;
}

const live = new Set<LiveAgent>();
let exitHookInstalled = false;

export function trackAgent(agent: LiveAgent): void {
  live.add(agent);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllAgentsSync);
}

export function untrackAgent(agent: LiveAgent): void {
  live.delete(agent);
}

export function killAllAgentsSync(): void {
  for (const agent of live) agent.killSync();
}
