// Shared helpers for the ACP tests: start the scripted agent (a real process) and check nothing is left behind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionNotification } from '@agentclientprotocol/sdk';
import { AcpAgent, isGroupAlive, isProcessAlive, type AcpAgentOptions, type AcpTrafficRecord } from '../src/acp/index.ts';

export const agentBin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));
export const scriptsDir = fileURLToPath(new URL('./fixtures/agent-scripts/', import.meta.url));

export function script(name: string): string {
  return join(scriptsDir, name);
}

export interface Recorded {
  traffic: AcpTrafficRecord[];
  updates: SessionNotification[];
  permissions: Array<{ request: unknown; response: unknown }>;
}

/** Starts the scripted agent with `scriptFile`, recording everything it observes. */
export async function startScripted(
  scriptFile: string,
  cwd: string,
  options: Partial<AcpAgentOptions> = {},
): Promise<{ agent: AcpAgent; recorded: Recorded }> {
  const recorded: Recorded = { traffic: [], updates: [], permissions: [] };
  const agent = await AcpAgent.start({
    command: process.execPath,
    args: [agentBin, '--script', scriptFile],
    cwd,
    onTraffic: (record) => recorded.traffic.push(record),
    onUpdate: (notification) => recorded.updates.push(notification),
    onPermission: (request, response) => recorded.permissions.push({ request, response }),
    ...options,
  });
  return { agent, recorded };
}

export async function tempDir(prefix = 'flowtape-acp-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Asserts the agent process and every process of its group are gone. */
export function assertGone(pid: number | undefined): void {
  assert.ok(pid !== undefined && pid > 0, 'the agent had a pid');
  assert.equal(isProcessAlive(pid), false, `agent process ${pid} is still running`);
  assert.equal(isGroupAlive(pid), false, `a process of agent group ${pid} is still running`);
}

/** The text of every agent_message_chunk, in order. */
export function messages(updates: SessionNotification[]): string[] {
  return updates.flatMap((n) =>
    n.update.sessionUpdate === 'agent_message_chunk' && n.update.content.type === 'text' ? [n.update.content.text] : []);
}

/** Rejection of `promise`, asserting it rejects. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; rpcCode?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; rpcCode?: number };
  }
  assert.fail('expected the promise to reject');
}
