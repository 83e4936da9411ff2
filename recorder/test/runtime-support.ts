// Shared helpers for the runtime tests: an observer that keeps every event, a fake clock, temp dirs, a check
// that no child process is left, and scripted-agent commands (the agent is a real ACP process).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LifecycleEvent, LifecycleObserver } from '../src/runtime/index.ts';

export const agentBin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));

export class Collector implements LifecycleObserver {
  readonly events: LifecycleEvent[] = [];
  readonly times: number[] = [];
  onEvent(event: LifecycleEvent, at: number): void {
    this.events.push(event);
    this.times.push(at);
  }
  /** `type` or `type:attemptId` per event, for compact sequence assertions (traffic left out). */
  trail(): string[] {
    return this.events
      .filter((e) => e.type !== 'acp.traffic')
      .map((e) => ('attemptId' in e && e.attemptId !== undefined ? `${e.type}:${e.attemptId}` : e.type));
  }
  of<T extends LifecycleEvent['type']>(type: T): Array<Extract<LifecycleEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<LifecycleEvent, { type: T }> => e.type === type);
  }
}

/** A clock that advances 1 ms per reading: runs become reproducible. */
export function stepClock(start = Date.UTC(2026, 0, 1)): { now(): number } {
  let t = start;
  return { now: () => t++ };
}

export async function tempDir(prefix = 'flowtape-runtime-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes a scripted-agent script into `dir` and returns the agent argv that runs it. */
export async function scriptedAgent(dir: string, name: string, script: unknown): Promise<string[]> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(script));
  return [process.execPath, agentBin, '--script', file];
}

/** Pids of this process's live children (zombies and the `ps` itself excluded). */
export function childPids(): number[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,stat=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is no child
  }
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, stat, comm]) => pid && stat && !stat.startsWith('Z') && comm !== 'ps')
    .map(([pid]) => Number(pid))
    .filter((pid) => Number.isInteger(pid));
}

/** Asserts that this process has no child apart from `before` (take it at the start: tsx keeps an esbuild child). */
export function assertNoChildren(before: number[]): void {
  const left = childPids().filter((p) => !before.includes(p));
  assert.deepEqual(left, [], `child processes left behind: ${left.join(', ')}`);
}

/** Every attempt id that has a node.started has exactly one node.outcome, after it. */
export function assertOneOutcomePerAttempt(events: LifecycleEvent[]): void {
  const started = new Map<string, number>();
  const outcomes = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.type === 'node.started') started.set(e.attemptId, i);
    if (e.type === 'node.outcome') {
      assert.ok(!outcomes.has(e.attemptId), `second node.outcome for ${e.attemptId}`);
      outcomes.set(e.attemptId, i);
    }
  });
  assert.deepEqual([...outcomes.keys()].sort(), [...started.keys()].sort(), 'attempts with and without outcome');
  for (const [id, at] of started) assert.ok(outcomes.get(id)! > at, `outcome of ${id} before its start`);
  // Attempt-scoped events sit between their attempt's start and outcome.
  events.forEach((e, i) => {
    if (e.type === 'acp.traffic' || !('attemptId' in e) || e.attemptId === undefined || e.type === 'edge.taken') return;
    assert.ok(i >= started.get(e.attemptId)! && i <= outcomes.get(e.attemptId)!, `${e.type} of ${e.attemptId} outside its attempt`);
  });
}

/** The last event is the one run end, and no other run end precedes it. */
export function assertOneRunEnd(events: LifecycleEvent[], type: LifecycleEvent['type']): void {
  const ends = events.filter((e) => /^run\.(completed|failed|timed_out|cancelled|waiting)$/.test(e.type));
  assert.deepEqual(ends.map((e) => e.type), [type]);
  assert.equal(events.at(-1)?.type, type);
}
