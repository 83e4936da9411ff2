// Helpers for the recorder, CLI and fault tests: temp dirs, scripted-agent commands (a real ACP process), reading
// bundle files, spawning the real `flowtape` bin, and finding processes left behind.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowSnapshot } from '@flowtape/schema';
import { TraceWriter, type TraceWriterOptions } from '../src/bundle/trace-writer.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const flowtapeBin = fileURLToPath(new URL('../bin/flowtape.js', import.meta.url));
export const agentBin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));
export const recorderEntry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

export async function tempDir(prefix = 'flowtape-rec-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes a scripted-agent script into `dir`; returns the argv that runs the agent with it. */
export async function scriptedAgent(dir: string, name: string, script: unknown): Promise<string[]> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(script));
  return [process.execPath, agentBin, '--script', file];
}

/** Every line of an NDJSON file, parsed (throws on a bad line: the tests want whole lines only). */
export function readLines<T = Record<string, unknown>>(file: string): T[] {
  const text = readFileSync(file, 'utf8');
  if (text !== '' && !text.endsWith('\n')) throw new Error(`${file}: torn last line`);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON: ${line.slice(0, 80)}`);
      }
    });
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export type TraceLine = { seq: number; type: string; attemptId?: string; nodeId?: string; sessionId?: string; payload: Record<string, any> };

export function traceOf(bundle: string): TraceLine[] {
  return readLines<TraceLine>(join(bundle, 'trace.ndjson'));
}

export function assertContiguous(seqs: number[]): void {
  for (let i = 0; i < seqs.length; i++) {
    if (seqs[i] !== i + 1) throw new Error(`seq ${seqs[i]} at position ${i + 1}: not contiguous`);
  }
}

/** Pids of live processes whose command line contains `marker` (e.g. a temp dir only one test uses). */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (cmdline.includes(marker) && !/^\d+ \(.*\) Z/.test(stat)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns the real `flowtape` bin (plain node, no loader flags: the bin registers tsx itself). */
export function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }) {
  const child = spawn(process.execPath, [flowtapeBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

export async function runCli(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Promise<CliResult> {
  return spawnCli(args, options).done;
}

/** A minimal flow.json for hand-written lifecycle sequences. */
export function flowSnapshot(name: string, nodes: FlowSnapshot['nodes'], edges: FlowSnapshot['edges'] = []): FlowSnapshot {
  return { schema: 'flowtape.flow.v1', name, startAt: nodes[0]?.id ?? 'a', nodes, edges };
}

/**
 * How long `command` takes, here and now, to start and answer ACP `initialize` (ms; the process is killed then).
 * Tests whose node timeout must outlast an agent's start scale it from this, not from a fixed figure a loaded machine
 * overruns (an agent that loses its start to the timeout makes such a test mean something else).
 */
export async function acpStartMs(command: readonly string[], cwd: string): Promise<number> {
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { cwd, stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (/"id":\s*0\b/.test(out)) resolve();
      });
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`${command.join(' ')} exited (${code}) before answering initialize`)));
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: 1, clientCapabilities: {} } })}\n`);
    });
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** A node timeout that outlasts an agent start `factor` times over, never below `floorMs`; logged with its basis. */
export function timeoutOver(startMs: number, floorMs: number, factor = 4): number {
  const timeout = Math.max(floorMs, Math.ceil((startMs * factor) / 100) * 100);
  console.log(`agent start ${Math.round(startMs)} ms here: node timeout ${timeout} ms (at least ${floorMs} ms, ${factor}x the start)`);
  return timeout;
}

/** A trace writer of its own in `dir` (not shared, no redaction), as the writer tests use it. */
export function plainTraceWriter(dir: string, options: Partial<TraceWriterOptions> = {}): TraceWriter {
  return new TraceWriter({
    path: join(dir, 'trace.ndjson'),
    shared: false,
    lockTarget: dir,
    lockfilePath: join(dir, '.lock'),
    exclusiveCreate: true,
    redact: (text) => text,
    ...options,
  });
}
