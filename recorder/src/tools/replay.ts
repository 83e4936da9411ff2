/**
 * `flowtape replay`: re-runs a flow against a recorded bundle into a new bundle, then diffs the two. Every ACP session
 * goes to the replay agent (a real ACP agent process serving the recording); shell actions answer with their
 * recorded output unless told to run; checkpoints resume with the recorded resume input; compute and function nodes
 * run again (they are code). Nothing waits for the recorded delays.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTwoFilesPatch } from 'diff';
import { loadFlow, loadManifest, loadSessionBinding, loadSessionEvents, loadTrace, type BundleBackend, type Manifest, type ValueRef } from '@flowtape/schema';
import { record, resumeRecorded, type RecordResult } from '../record.ts';
import type { FlowDefinition, LifecycleObserver, PermissionPolicy, ShellActionResult, ShellRunner } from '../runtime/index.ts';
import { commandText } from '../runtime/command.ts';
import { NodeError } from '../runtime/errors.ts';
import { runShellCommand } from '../runtime/shell.ts';
import { diffBundles, type DiffResult } from './diff.ts';
import { openBundle } from './fs-backend.ts';

export class ReplayError extends Error {
  override name = 'ReplayError';
}

export interface ReplayOptions {
  /** The run's working directory (agents' file access, shell actions run live). */
  cwd: string;
  /** The runs root of the new bundle (default `.flowtape/replays` under cwd). */
  outDir?: string;
  /** The flow file, recorded in the new bundle's flow.json. */
  flowFile?: string;
  /** Replay up to the first attempt of this node, run live from it. */
  from?: string;
  /** The live agent for prompts the recording lacks (and for turns from `from` on). */
  agent?: string;
  /** `live`: shell actions run; `replay` (default): they answer with their recorded output. */
  shell?: 'replay' | 'live';
  permissionPolicy?: PermissionPolicy;
  /** The ACP auth method (`--auth`): the run logs in to the replay agent with it, and a live agent too. Default: the
   *  one every recorded session logged in with. */
  auth?: string;
  observer?: LifecycleObserver;
  signal?: AbortSignal;
  /** More diff paths not to compare (`--ignore`). */
  ignore?: readonly string[];
}

/** Diff paths a replay differs in by construction (SPEC "Replay"): the sessions' agent command. */
export const REPLAY_IGNORES = ['/sessions/*/binding/agentCommand'];

/** A prompt the recording lacks, as the new bundle tells it. */
export interface ReplayMiss {
  nodeId: string;
  attemptId: string;
  message: string;
  /** Unified diff: the nearest recorded prompt (or the recorded shell command) against the new one. */
  diff: string;
}

export interface ReplayResult {
  run: RecordResult;
  replayOf: NonNullable<Manifest['replayOf']>;
  diff: DiffResult;
  misses: ReplayMiss[];
  /** Attempts whose turn a live agent answered. */
  liveTurns: string[];
}

/** What the runs need from the source trace. */
interface SourceRun {
  manifest: Manifest;
  traceSha256: string;
  input: unknown;
  deterministic: boolean;
  /** run.resumed inputs, in order. */
  resumes: unknown[];
  shell: Map<string, { command: string; argv?: string[]; stdout: string; stderr: string; exitCode: number | null; signal: string | null }>;
  /** Each attempt's outcome error code (`node_timeout`, `shell_timeout`, …), for actions that were interrupted. */
  errorCodes: Map<string, string>;
  nodes: Set<string>;
  /** The ACP auth method every recorded session logged in with, when they all used the same one. */
  authMethodId?: string;
}

async function readSource(location: string): Promise<SourceRun> {
  const backend = await openBundle(location);
  const manifest = await loadManifest(backend);
  if (!manifest.complete && manifest.status !== 'waiting') {
    throw new ReplayError(`${location}: the run is not complete (status ${manifest.status}): run \`flowtape repair\` first`);
  }
  const traceText = await backend.readText(manifest.files.trace);
  if (traceText === undefined) throw new ReplayError(`${location}: ${manifest.files.trace} is missing`);
  const value = async (ref: ValueRef | undefined, asText: boolean): Promise<unknown> => {
    if (ref === undefined) return undefined;
    if ('inline' in ref) return ref.inline;
    const text = await backend.readText(ref.artifact.path);
    if (text === undefined) throw new ReplayError(`${location}: ${ref.artifact.path} is missing`);
    return asText || ref.artifact.mediaType.startsWith('text/') ? text : JSON.parse(text);
  };
  const source: SourceRun = { manifest, traceSha256: createHash('sha256').update(traceText).digest('hex'), input: undefined, deterministic: false, resumes: [], shell: new Map(), errorCodes: new Map(), nodes: new Set() };
  const commands = new Map<string, { command: string; argv?: string[] }>();
  for await (const { event } of loadTrace(backend, manifest)) {
    const payload = event.payload as Record<string, unknown>;
    if (event.nodeId !== undefined) source.nodes.add(event.nodeId);
    if (event.type === 'run.started') {
      source.input = await value(payload['input'] as ValueRef | undefined, false);
      source.deterministic = payload['deterministic'] === true;
    } else if (event.type === 'node.outcome' && event.attemptId) {
      const code = (payload['error'] as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string') source.errorCodes.set(event.attemptId, code);
    } else if (event.type === 'run.resumed') {
      source.resumes.push(await value(payload['input'] as ValueRef | undefined, false));
    } else if (event.type === 'action.started' && payload['actionType'] === 'shell' && event.attemptId) {
      const command = payload['command'];
      commands.set(
        event.attemptId,
        Array.isArray(command) ? { command: commandText(String(command[0]), command.slice(1).map(String)), argv: command.map(String) } : { command: String(command) },
      );
    } else if (event.type === 'action.completed' && payload['actionType'] === 'shell' && event.attemptId) {
      source.shell.set(event.attemptId, {
        ...(commands.get(event.attemptId) ?? { command: '' }),
        stdout: String((await value(payload['stdout'] as ValueRef | undefined, true)) ?? ''),
        stderr: String((await value(payload['stderr'] as ValueRef | undefined, true)) ?? ''),
        exitCode: (payload['exitCode'] as number | null | undefined) ?? null,
        signal: (payload['signal'] as string | null | undefined) ?? null,
      });
    }
  }
  source.authMethodId = await recordedLogin(backend, manifest);
  return source;
}

/**
 * The auth method the recorded run logged in with (binding `authMethodId`), when every session it opened used that
 * one method: the replay logs in with it too (to the replay agent, which offers what the recorded agent offered), so
 * the replay binds its sessions as the recording did. Sessions that logged in differently, or some not at all: none.
 */
async function recordedLogin(backend: BundleBackend, manifest: Manifest): Promise<string | undefined> {
  const methods = new Set<string | undefined>();
  for (const { sessionId } of manifest.sessions) {
    const binding = await loadSessionBinding(backend, sessionId).catch(() => undefined);
    if (binding && !binding.error) methods.add(binding.authMethodId);
  }
  const [only] = methods;
  return methods.size === 1 ? only : undefined;
}

/** The flow file the recorded run came from (flow.json `flowFile`) and the run's cwd it is relative to. */
export async function recordedFlowFile(location: string): Promise<{ flowFile?: string; cwd?: string }> {
  const backend = await openBundle(location);
  const manifest = await loadManifest(backend);
  const flow = await loadFlow(backend, manifest);
  let cwd: string | undefined;
  for await (const { event } of loadTrace(backend, manifest)) {
    if (event.type === 'run.started') cwd = (event.payload as { cwd?: string }).cwd;
    break;
  }
  return { ...(flow.flowFile !== undefined ? { flowFile: flow.flowFile } : {}), ...(cwd !== undefined ? { cwd } : {}) };
}

/** The replay agent's command: its built entry next to this file, or the repository's tsx launcher. */
function replayAgentEntry(): string {
  const url = import.meta.url;
  return fileURLToPath(url.endsWith('.ts') ? new URL('../../bin/flowtape-replay-agent.js', url) : new URL('../agent/replay-cli.js', url));
}

/**
 * A changed shell command, as a prompt miss shows a changed prompt: a unified diff of the recorded command and the
 * new one, an argument a line when both are argument lists (a changed argument stands out in a long command).
 */
export function commandDiff(label: string, recorded: { command: string; argv?: string[] }, now: { command: string; argv: string[] }): string {
  const lines = (c: { command: string; argv?: string[] }): string => `${recorded.argv !== undefined && c.argv !== undefined ? c.argv.join('\n') : c.command}\n`;
  return createTwoFilesPatch(`recorded ${label}`, 'new command', lines(recorded), lines(now), undefined, undefined, { context: 3 });
}

/** Shell actions answered from the recording (or run, live, from the fork on); a changed command is a miss, kept in `misses`. */
function shellReplayer(source: SourceRun, live: () => boolean, misses: ReplayMiss[]): ShellRunner {
  return async (exec, { cwd, signal, attemptId, nodeId }) => {
    if (live()) return runShellCommand(exec, { cwd, signal });
    const args = exec.args ?? [];
    const shown = commandText(exec.command, args);
    const recorded = source.shell.get(attemptId);
    if (!recorded) throw new NodeError('replay_miss', `node "${nodeId}" attempt ${attemptId}: replay miss: no recorded shell action (use --shell live to run it)`);
    if (recorded.command !== shown) {
      const message = `replay miss: the command is now "${shown}", the recording ran "${recorded.command}" (use --shell live to run it)`;
      misses.push({ nodeId, attemptId, message, diff: commandDiff(attemptId, recorded, { command: shown, argv: [exec.command, ...args] }) });
      throw new NodeError('replay_miss', `node "${nodeId}" attempt ${attemptId}: ${message}`);
    }
    const code = source.errorCodes.get(attemptId);
    // The node's timeout stopped the command: the new run's timeout stops it at the same point (a wait that is the
    // flow's, not the command's). A command that hit its own timeout says so at once.
    if (code === 'node_timeout') await new Promise<void>((done) => (signal.aborted ? done() : signal.addEventListener('abort', () => done(), { once: true })));
    const result: ShellActionResult = {
      command: exec.command,
      args,
      cwd,
      stdout: recorded.stdout,
      stderr: recorded.stderr,
      combinedOutput: recorded.stdout + recorded.stderr,
      exitCode: recorded.exitCode,
      signal: recorded.signal as NodeJS.Signals | null,
      durationMs: 0,
      timedOut: code === 'shell_timeout',
      aborted: code === 'node_timeout',
      overflowed: code === 'max_buffer',
    };
    return result;
  };
}

export async function replayBundle(sourceDir: string, flow: FlowDefinition, options: ReplayOptions): Promise<ReplayResult> {
  const source = await readSource(sourceDir);
  if (options.from !== undefined && !source.nodes.has(options.from)) {
    throw new ReplayError(`--from ${options.from}: the recorded run has no attempt of node "${options.from}"`);
  }
  const replayOf = { runId: source.manifest.runId, traceSha256: source.traceSha256, ...(options.from !== undefined ? { from: options.from } : {}) };
  const stateDir = mkdtempSync(join(tmpdir(), 'flowtape-replay-'));
  let forked = false;
  const shellMisses: ReplayMiss[] = [];
  const agentArgv = (handle: string): string[] => [
    process.execPath,
    replayAgentEntry(),
    '--bundle', resolve(sourceDir),
    '--state', stateDir,
    '--handle', handle,
    ...(options.agent !== undefined ? ['--live', options.agent] : []),
    ...(options.from !== undefined ? ['--from', options.from] : []),
  ];
  const forkWatcher: LifecycleObserver = {
    onEvent(event, at) {
      if (event.type === 'node.started' && event.nodeId === options.from) forked = true;
      options.observer?.onEvent(event, at);
    },
  };
  const common = {
    agentFor: (handle: string) => agentArgv(handle),
    shellRunner: shellReplayer(source, () => options.shell === 'live' || forked, shellMisses),
    // Permission answers are made anew: by the policy the recording used unless told otherwise.
    ...(options.permissionPolicy ?? source.manifest.permissionPolicy ? { permissionPolicy: options.permissionPolicy ?? source.manifest.permissionPolicy } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    // Logins too: with the method the recording used unless told otherwise.
    ...(options.auth ?? source.authMethodId ? { auth: options.auth ?? source.authMethodId } : {}),
    observer: forkWatcher,
    recorder: { replayOf },
  };
  try {
    const outDir = resolve(options.cwd, options.outDir ?? '.flowtape/replays');
    let run = await record(flow, source.input, {
      ...common,
      cwd: options.cwd,
      // A deterministic replay keeps the recorded run id: each one gets a folder of its own all the same.
      ...(source.deterministic ? { bundleDir: freeFolder(outDir, source.manifest.runId) } : { outDir }),
      ...(options.flowFile ? { flowFile: options.flowFile } : {}),
      // A deterministic recording replays deterministically: same clock readings, same run id, same bytes.
      ...(source.deterministic ? { deterministic: true } : {}),
    });
    // Checkpoints: continue with the input each recorded resume gave, as long as the recording did.
    for (const input of source.resumes) {
      if (run.status !== 'waiting') break;
      const resumed = await resumeRecorded(run.bundleDir, flow, input, { ...common, cwd: options.cwd });
      run = { ...resumed, warnings: [...run.warnings, ...resumed.warnings] };
    }
    // The binding's agent command is the replay agent's: a replay field, not behaviour.
    const diff = await diffBundles(resolve(sourceDir), run.bundleDir, { ignore: [...REPLAY_IGNORES, ...(options.ignore ?? [])] });
    const { misses, liveTurns } = await turnsOf(run.bundleDir);
    return { run, replayOf, diff, misses: [...misses, ...shellMisses], liveTurns };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function freeFolder(outDir: string, name: string): string {
  for (let n = 1; ; n++) {
    const dir = join(outDir, n === 1 ? name : `${name}-${n}`);
    if (!existsSync(dir)) return dir;
  }
}

/** Misses and live turns, read back from the new bundle's raw traffic (the replay agent marks both). */
async function turnsOf(bundleDir: string): Promise<{ misses: ReplayMiss[]; liveTurns: string[] }> {
  const backend = await openBundle(bundleDir);
  const manifest = await loadManifest(backend);
  const misses: ReplayMiss[] = [];
  const liveTurns: string[] = [];
  for (const { sessionId } of manifest.sessions) {
    for await (const { event } of loadSessionEvents(backend, sessionId)) {
      if (event.direction !== 'incoming' || event.attemptId === undefined) continue;
      const message = event.message as { error?: { message?: string; data?: { replayMiss?: { diff?: string } } }; result?: { _meta?: Record<string, unknown> } } | undefined;
      const miss = message?.error?.data?.replayMiss;
      if (miss) {
        const nodeId = event.attemptId.replace(/#\d+$/, '');
        misses.push({ nodeId, attemptId: event.attemptId, message: message.error?.message ?? 'replay miss', diff: miss.diff ?? '' });
      }
      if (message?.result?._meta?.['flowtape/replay'] === 'live') liveTurns.push(event.attemptId);
    }
  }
  return { misses, liveTurns };
}
