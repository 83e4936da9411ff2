// Records real acpx runs for the import tests: acpx's own FlowRunner (acpx/flows) drives the flow, and its ACP
// nodes talk to flowtape's scripted agent, a real ACP process, under a `--script` written here.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowRunner, type FlowDefinition } from 'acpx/flows';

const agentBin = fileURLToPath(new URL('../bin/flowtape-scripted-agent.js', import.meta.url));

export interface AcpxRecordOptions {
  /** The scripted agent's script (written to `<root>/<name>.agent.json`). */
  script?: unknown;
  /** acpx's profile label for the agent (what its binding.json calls `agentName`). */
  agentName?: string;
  /**
   * The first start of the agent once `armFile` exists sleeps this long first, so acpx times that node out before its
   * prompt. (Counting starts does not work: how many processes acpx starts before a node varies from run to run.)
   */
  slowStart?: { armFile: string; ms: number };
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
    // A shell script: the first start after the flow armed it (mkdir is atomic: one start only) sleeps, then becomes
    // the agent.
    const wrapper = join(root, `${name}.slow-agent.sh`);
    const once = `${slow.armFile}.taken`;
    // Every start is logged (ms clock, pid, whether it slept), so a test that did not get the timing it needs can say
    // which start slept and when (startsReport).
    const log = `>> '${slow.armFile}.starts'`;
    const body = [
      `if [ -e '${slow.armFile}' ] && mkdir '${once}' 2>/dev/null; then`,
      `  echo "$(date +%s%3N) $$ sleeps ${slow.ms}" ${log}; sleep ${slow.ms / 1000}; echo "$(date +%s%3N) $$ woke" ${log}`,
      `else echo "$(date +%s%3N) $$ starts" ${log}; fi`,
      'exec "$@"',
    ].join('\n');
    await writeFile(wrapper, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    agent.unshift(wrapper);
  }
  const runner = new FlowRunner({
    resolveAgent: () => ({
      agentName: options.agentName ?? 'scripted',
      // As acpx fills a binding from an argv itself: agentArgv is the whole argv (acpx runs it as given, program
      // first, so a wrapper must be its first item) and agentCommand the same argv as one string.
      agentCommand: agent.join(' '),
      agentArgv: agent,
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

/**
 * The agent starts of a run with `slowStart` (armed with `armFile`), one line: each start's time from the first, its
 * pid, and which one slept, from when to when.
 */
export async function startsReport(armFile: string): Promise<string> {
  const lines = (await readFile(`${armFile}.starts`, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => l.split(' '));
  if (lines.length === 0) return 'no agent start was logged';
  const t0 = Number(lines[0]![0]);
  return lines.map(([ms, pid, what, sleepMs]) => `+${Number(ms) - t0} ms pid ${pid} ${what}${sleepMs ? ` ${sleepMs} ms` : ''}`).join('; ');
}
