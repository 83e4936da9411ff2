// Stopping an agent's process group: end its stdin and wait for it to exit, then SIGTERM and SIGKILL; then whatever
// it left in its group (its children); then read what it wrote before it went, for a bounded time.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { isGroupAlive, signalGroup, waitUntilGone } from './process.ts';
import { interruption, within } from './settle.ts';

export interface StoppableAgent {
  child: ChildProcessWithoutNullStreams;
  /** Whether the agent (the group's leader) has exited. */
  hasExited(): boolean;
  /** Resolves once the leader has exited. */
  exited: Promise<void>;
  /** Resolves once its stdio pipes are closed. */
  streamsClosed: Promise<void>;
  /** From now on what the agent writes is counted, not recorded. */
  stopRecording(): void;
}

/**
 * With `force` (an agent given up on) SIGTERM goes at once; else the agent has `grace` ms after its stdin ends.
 * Each signal gets `grace` ms before the next.
 */
export async function stopAgentProcess(agent: StoppableAgent, force: boolean, grace: number): Promise<void> {
  const { child } = agent;
  const pid = child.pid;
  if (pid === undefined) return;
  if (!agent.hasExited()) {
    child.stdin.end();
    if (force || !(await waitForExit(agent, grace))) {
      // It did not stop when asked: the session is over, what it writes now is not recorded.
      agent.stopRecording();
      signalGroup(pid, 'SIGTERM');
      if (!(await waitForExit(agent, grace))) {
        signalGroup(pid, 'SIGKILL');
        await waitForExit(agent, 5_000);
      }
    }
  }
  // The leader is gone; anything left in its group (its children) goes too.
  if (isGroupAlive(pid)) {
    agent.stopRecording();
    signalGroup(pid, 'SIGTERM');
    if (!(await waitUntilGone(() => isGroupAlive(pid), grace))) signalGroup(pid, 'SIGKILL');
    await waitUntilGone(() => isGroupAlive(pid), 2_000);
  }
  // What the agent wrote before it exited may still be in the pipes: read it (bounded: a process outside the
  // group may hold them open), then nothing more is recorded.
  await within(agent.streamsClosed, Math.min(grace, 1_000));
}

async function waitForExit(agent: StoppableAgent, ms: number): Promise<boolean> {
  if (agent.hasExited()) return true;
  const limit = interruption(undefined, ms);
  const result = await Promise.race([agent.exited.then(() => true), limit.promise.then(() => false)]);
  limit.dispose();
  return result;
}
