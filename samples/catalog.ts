/**
 * The sample flows and how to record them. `pnpm samples` (scripts/regen-samples.ts) records each one
 * deterministically into `samples/<name>/bundle/`; tests regenerate them into a temp dir and compare bytes.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { record, resumeRecorded, type FlowDefinition, type PermissionPolicy, type RecordResult } from '@flowtape/recorder';

export const samplesDir = fileURLToPath(new URL('.', import.meta.url));
export const scriptedAgentBin = fileURLToPath(new URL('../recorder/bin/flowtape-scripted-agent.js', import.meta.url));

export interface SampleSpec {
  name: string;
  /** What the sample shows. */
  shows: string;
  /** The flow file, relative to the sample directory. */
  flowFile: string;
  input: unknown;
  /** The scripted agent's script, relative to the sample directory. */
  agentScript?: string;
  permission?: PermissionPolicy;
  /** Resume the waiting run with this input (a checkpoint sample). */
  resumeInput?: unknown;
}

export const samples: SampleSpec[] = [
  {
    name: 'conversation',
    shows: 'two turns in one shared ACP session (thought, plan, tool call, file read, permission, usage and cost), a decision with switch edges',
    flowFile: 'conversation.flow.ts',
    input: { file: 'notes.txt' },
    agentScript: 'agent.json',
    permission: 'approve-all',
  },
  {
    name: 'shell-routing',
    shows: 'a failing shell action routed by $result.outcome; stdout large enough for an artifact',
    flowFile: 'shell-routing.flow.ts',
    input: {},
  },
  {
    name: 'retry-timeout',
    shows: 'a node timeout and a retry loop (fetch#2)',
    flowFile: 'retry-timeout.flow.ts',
    input: {},
  },
  {
    name: 'checkpoint',
    shows: 'a checkpoint that waits, then a resume in the same bundle routed by $resume.approved',
    flowFile: 'checkpoint.flow.ts',
    input: { version: '2.4.0' },
    resumeInput: { approved: true, by: 'alice' },
  },
];

export function sampleDir(spec: SampleSpec): string {
  return join(samplesDir, spec.name);
}

export function agentCommandFor(spec: SampleSpec): string[] | undefined {
  if (!spec.agentScript) return undefined;
  return [process.execPath, scriptedAgentBin, '--script', join(sampleDir(spec), spec.agentScript)];
}

export async function loadSampleFlow(spec: SampleSpec): Promise<FlowDefinition> {
  const module = (await import(join(sampleDir(spec), spec.flowFile))) as { default: FlowDefinition };
  return module.default;
}

/**
 * Records one sample into `bundleDir` (which must not exist). Deterministic by default: same bytes every time.
 * A checkpoint sample is resumed right away, so its bundle shows the wait and the resume.
 */
export async function recordSample(
  spec: SampleSpec,
  bundleDir: string,
  options: { deterministic?: boolean } = {},
): Promise<RecordResult> {
  const deterministic = options.deterministic ?? true;
  const flow = await loadSampleFlow(spec);
  const agentCommand = agentCommandFor(spec);
  const common = {
    cwd: sampleDir(spec),
    deterministic,
    ...(agentCommand ? { agentCommand } : {}),
    ...(spec.permission ? { permissionPolicy: spec.permission } : {}),
  };
  const first = await record(flow, spec.input, { ...common, bundleDir, flowFile: join(sampleDir(spec), spec.flowFile) });
  if (spec.resumeInput === undefined || first.status !== 'waiting') return first;
  return resumeRecorded(bundleDir, flow, spec.resumeInput, common);
}
