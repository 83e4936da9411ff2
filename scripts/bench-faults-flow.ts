/**
 * The run bench:faults kills: compute nodes, shell nodes and ACP turns with the real scripted agent, in a loop, so
 * a random moment lands in any of them. Written into the bench's work dir as a flow file and an agent script.
 *
 * Per lap: `ask` (ACP, the shared session: thought, plan, tool call, a short delay, a message), `build` (shell, a
 * short sleep and output), `review` (ACP, a second session, with a permission request), `slow` (shell, a long sleep stopped by the node's timeout — if the CLI dies during it, the
 * sleep would outlive the run by seconds unless something stops it), and `tick` (compute) deciding the next lap.
 * Every shell writes its pid to `pids.txt` so the bench can tell whether it is gone after the kill.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FaultsFlow {
  flowFile: string;
  /** `--agent` for `flowtape run`. */
  agentCommand: string;
  /** Where the shells append their pids. */
  pidFile: string;
  /** Appears in the command line of every process the run starts (the agent's script path, the sleeps). */
  marker: string;
}

export function writeFaultsFlow(dir: string, options: { recorderEntry: string; agentBin: string; laps: number }): FaultsFlow {
  const pidFile = join(dir, 'pids.txt');
  // A sleep length no other process on the machine uses, so the marker finds exactly this bench's sleeps.
  const marker = `7.${String(Math.floor(Math.random() * 9000) + 1000)}`;
  const agentScript = join(dir, 'faults-agent.json');
  writeFileSync(
    agentScript,
    JSON.stringify({
      agent: { name: 'faults-agent', version: '1.0.0' },
      turns: [
        {
          match: { regex: '^Step' },
          steps: [
            { thought: 'Planning the step.' },
            { plan: [{ content: 'Look around', status: 'in_progress' }, { content: 'Report' }] },
            { toolCall: { toolCallId: 'look', title: 'Look around', kind: 'read', status: 'in_progress' } },
            { delayMs: 40 },
            { toolCallUpdate: { toolCallId: 'look', status: 'completed', content: ['nothing unusual'] } },
            { message: 'Step done.' },
          ],
        },
        {
          match: { regex: '^Review' },
          steps: [
            { thought: 'Checking the build.' },
            { permission: { toolCallId: 'approve', title: 'Approve the build', ifAllowed: [{ message: 'Approved.' }] } },
          ],
        },
      ],
    }),
  );
  const q = JSON.stringify;
  const flowFile = join(dir, 'faults.flow.ts');
  writeFileSync(
    flowFile,
    `import { acp, compute, defineFlow, shell } from ${q(options.recorderEntry)};
export default defineFlow({
  name: 'faults',
  startAt: 'start',
  nodes: {
    start: compute({ run: () => ({ n: 0 }) }),
    ask: acp({ prompt: ({ outputs }) => 'Step ' + (outputs.tick?.n ?? 0) }),
    build: shell({ exec: { command: 'sh', args: ['-c', ${q(`echo $$ >> ${pidFile}; sleep 0.05; echo built`)}] } }),
    review: acp({ prompt: ({ outputs }) => 'Review ' + (outputs.tick?.n ?? 0), session: { handle: 'review' } }),
    slow: shell({ timeoutMs: 150, exec: { command: 'sh', args: ['-c', ${q(`echo $$ >> ${pidFile}; exec sleep ${marker}`)}] } }),
    tick: compute({ run: ({ outputs }) => ({ n: (outputs.tick?.n ?? 0) + 1 }) }),
    end: compute({ run: ({ outputs }) => ({ laps: outputs.tick.n }) }),
  },
  edges: [
    { from: 'start', to: 'ask' },
    { from: 'ask', to: 'build' },
    { from: 'build', to: 'review' },
    { from: 'review', to: 'slow' },
    { from: 'slow', switch: { on: '$result.outcome', cases: { ok: 'tick', timed_out: 'tick' } } },
    { from: 'tick', switch: { on: '$.n', cases: { ${q(String(options.laps))}: 'end' }, default: 'ask' } },
  ],
});
`,
  );
  const agentCommand = [process.execPath, options.agentBin, '--script', agentScript].map((a) => q(a)).join(' ');
  return { flowFile, agentCommand, pidFile, marker };
}
