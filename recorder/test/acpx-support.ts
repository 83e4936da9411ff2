// Records real acpx runs for the import tests: acpx's own FlowRunner (acpx/flows) drives the flow, and its ACP
// nodes talk to flowtape's scripted agent, a real ACP process, under a `--script` written here.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowRunner, type FlowDefinition } from 'acpx/flows';

const agentBin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));

export interface AcpxRecordOptions {
  /** The scripted agent's script (written to `<root>/<name>.agent.json`). */
  script?: unknown;
  /** acpx's profile label for the agent (what its binding.json calls `agentName`). */
  agentName?: string;
  /** The n-th start of the agent (1-based, counted per run) sleeps this long first: acpx times a node out before its prompt. */
  slowStart?: { start: number; ms: number };
}

/**
 * Runs a flow with acpx's FlowRunner under `root`; returns its run directory (acpx.flow-run-bundle.v1). The caller
 * points HOME at a temporary folder first: acpx keeps persistent sessions under ~/.acpx.
 */
export async function recordWithAcpx(root: string, name: string, flow: FlowDefinition, input: unknown, options: AcpxRecordOptions = {}): Promise<string> {
  const outputRoot = join(root, 'acpx-runs', `${name}-${Math.random().toString(36).slice(2, 8)}`);
  const scriptFile = join(root, `${name}.agent.json`);
  if (options.script) await writeFile(scriptFile, JSON.stringify(options.script));
  const agent = [process.execPath, agentBin, '--script', scriptFile];
  const slow = options.slowStart;
  if (slow) {
    // A shell script counts the agent's starts in a file; the chosen start sleeps before it becomes the agent.
    const wrapper = join(root, `${name}.slow-agent.sh`);
    const counter = join(root, `${name}.starts`);
    const body = `n=$(($(cat '${counter}' 2>/dev/null || echo 0) + 1)); echo $n > '${counter}'; [ $n -eq ${slow.start} ] && sleep ${slow.ms / 1000}; exec "$@"`;
    await writeFile(wrapper, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    agent.unshift(wrapper);
  }
  const runner = new FlowRunner({
    resolveAgent: () => ({
      agentName: options.agentName ?? 'scripted',
      agentCommand: agent[0]!,
      agentArgv: agent.slice(1),
      cwd: root,
    }),
    permissionMode: 'approve-all',
    outputRoot,
    suppressSdkConsoleErrors: true,
  });
  await runner.run(flow, input, { flowPath: `/virtual/${name}.flow.ts` }).catch(() => undefined);
  const [runId] = await readdir(outputRoot);
  return join(outputRoot, runId!);
}
