// What the replay and resume tests set up before they replay or resume anything: flow files that import the
// recorder's source, the scripted agent (a real ACP process) as an --agent string, and a source run recorded by the
// real `flowtape run` bin.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentBin, recorderEntry, repoRoot, runCli, scriptedAgent, tempDir } from './recorder-support.ts';

/**
 * Writes `file` in `dir`: `names` imported from the recorder's source entry, `preamble` (more imports, constants),
 * then `export default defineFlow(<definition>)`. Returns `file`.
 */
export function writeFlow(dir: string, file: string, names: readonly string[], definition: string, preamble = ''): string {
  writeFileSync(join(dir, file), `import { ${names.join(', ')} } from ${JSON.stringify(recorderEntry)};\n${preamble}export default defineFlow(${definition});\n`);
  return file;
}

/** The scripted agent with `script` (a path relative to the run's cwd, or absolute), as one `--agent` string. */
export function scriptedAgentCommand(script: string): string {
  return `${process.execPath} ${agentBin} --script ${script}`;
}

/** `flowtape run <flow> --out runs -q …args` in `cwd`: asserts it exits 0 and returns the bundle directory it printed. */
export async function recordRun(cwd: string, flow: string, args: readonly string[] = []): Promise<string> {
  const recorded = await runCli(['run', flow, '--out', 'runs', '-q', ...args], { cwd });
  assert.equal(recorded.code, 0, recorded.stderr);
  return recorded.stdout.trim();
}

export interface RecordedConversation {
  dir: { path: string; remove(): Promise<void> };
  /** The recorded bundle. */
  source: string;
}

/**
 * The `conversation` sample (two ACP turns, a permission request) copied into a temp dir and recorded there
 * deterministically with `--permission approve-all` and the sample's agent script (changed by `script` first), plus
 * `runArgs`; `files` are written beside it (JSON). The agent script is deleted afterwards, so no turn a replay serves
 * can come from the scripted agent; `keepScriptAs` keeps a copy of it under that name first.
 */
export async function recordConversation(
  prefix: string,
  options: { script?: (script: Record<string, unknown>) => unknown; runArgs?: readonly string[]; files?: Record<string, unknown>; keepScriptAs?: string } = {},
): Promise<RecordedConversation> {
  const dir = await tempDir(prefix);
  const sample = join(repoRoot, 'samples', 'conversation');
  for (const file of ['conversation.flow.ts', 'notes.txt']) copyFileSync(join(sample, file), join(dir.path, file));
  const script = JSON.parse(readFileSync(join(sample, 'agent.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir.path, 'agent.json'), JSON.stringify(options.script ? options.script(script) : script));
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir.path, name), JSON.stringify(content));
  const source = await recordRun(dir.path, 'conversation.flow.ts', [
    '--deterministic', '--permission', 'approve-all', ...(options.runArgs ?? []), '--agent', scriptedAgentCommand('agent.json'),
  ]);
  if (options.keepScriptAs) copyFileSync(join(dir.path, 'agent.json'), join(dir.path, options.keepScriptAs));
  rmSync(join(dir.path, 'agent.json'));
  return { dir, source };
}

/** The scripted agent with `script` written to `<dir>/<name>.json`, as one `--agent` string (absolute paths, quoted). */
export async function scriptedAgentArg(dir: string, name: string, script: unknown): Promise<string> {
  return (await scriptedAgent(dir, name, script)).map((arg) => JSON.stringify(arg)).join(' ');
}
