/** `flowtape replay <bundle>`: re-run a flow against a recording, then diff; exits like `diff` (0 same, 1 different, 2 error). */
import { Option } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PermissionPolicy } from '../../runtime/index.ts';
import type { CliCommand } from '../context.ts';
import { UsageError } from '../errors.ts';
import { authFlag, PERMISSION_HELP, PERMISSION_POLICIES } from '../input.ts';
import { diffExitCode } from './diff.ts';
import { asCliErrors } from './tool-errors.ts';

interface ReplayFlags {
  flow?: string;
  out?: string;
  cwd?: string;
  from?: string;
  agent?: string;
  shell: 'replay' | 'live';
  permission?: PermissionPolicy;
  auth?: string;
  ignore: string[];
  quiet?: boolean;
  json?: boolean;
  markdown?: boolean;
}

export const replayCommand: CliCommand = {
  register(program, cli) {
    program
      .command('replay')
      .summary('re-run a flow against a recorded bundle, offline, and diff (exit 0 same, 1 different, 2 error)')
      .description(
        'Run the flow again (the one the bundle recorded, or --flow) into a new bundle whose ACP turns come from the ' +
          'recording: a replay agent serves each prompt the recorded answer, without the recorded delays. Shell actions ' +
          'return their recorded output, checkpoints resume with the recorded input, compute and function nodes run. A ' +
          'prompt the recording lacks fails its node with a diff against the nearest recorded prompt, or goes to --agent. ' +
          'Then the new bundle is compared with the recorded one, as `flowtape diff` does. Exit 0: same, 1: different, 2: error ' +
          '(or, as for diff, no difference found but lines of a bundle could not be read).',
      )
      .argument('<bundle>', 'the recorded bundle (directory or packed .zip)')
      .option('--flow <file>', 'the flow file to run (default: the one the bundle recorded in flow.json)')
      .option('--out <dir>', 'runs root of the new bundle', '.flowtape/replays')
      .option('--cwd <dir>', 'the working directory of the replay: agents\' file access, shell actions run live (default: the current one)')
      .option('--from <node>', 'replay up to the first attempt of <node>, then run live from it (ACP turns need --agent)')
      .option('--agent <command>', 'a live ACP agent for prompts the recording lacks (hybrid replay)')
      .addOption(new Option('--shell <mode>', 'shell actions: `replay` their recorded output, or run them `live`').choices(['replay', 'live']).default('replay'))
      .option('--auth <methodId>', 'the ACP auth method to log in with, as for `flowtape run`; a live agent (--agent) logs in with it too (default: the one the recording used)', authFlag)
      .addOption(new Option('--permission <policy>', `${PERMISSION_HELP} (default: the one the recording used)`).choices(PERMISSION_POLICIES))
      .option('--ignore <pattern>', 'a diff path not to compare, as for `flowtape diff`; repeatable', (value: string, all: string[]) => [...all, value], [] as string[])
      .option('-q, --quiet', 'no per-node progress on stderr')
      .option('--json', 'print {bundle, runId, status, replayOf, misses, liveTurns, diff} as JSON')
      .option('--markdown', 'print the diff report as Markdown')
      .action(
        cli.action(async (bundle: string, flags: ReplayFlags) => {
          const { io } = cli;
          if (flags.json && flags.markdown) throw new UsageError('replay: choose one of --json and --markdown');
          const sourceDir = resolve(io.cwd, bundle);
          const { recordedFlowFile, replayBundle } = await import('../../tools/replay.ts');
          const recorded = await asCliErrors(() => recordedFlowFile(sourceDir));
          // The replay runs here (a CI checkout is rarely where the run was recorded); the recorded flow file is
          // looked for here first, then where the run was recorded.
          const cwd = resolve(io.cwd, flags.cwd ?? '.');
          let flowPath: string;
          if (flags.flow !== undefined) flowPath = resolve(io.cwd, flags.flow);
          else if (recorded.flowFile !== undefined) {
            const here = resolve(cwd, recorded.flowFile);
            flowPath = existsSync(here) || recorded.cwd === undefined ? here : resolve(recorded.cwd, recorded.flowFile);
          } else throw new UsageError(`${bundle}: flow.json does not say which flow file the run came from (the bundle holds no flow source): give --flow <file>`);
          const { loadFlowFile } = await import('../flow-loader.ts');
          const { flow, file } = await loadFlowFile(flowPath, io.cwd);
          const outDir = resolve(io.cwd, flags.out ?? '.flowtape/replays');
          const { guardRun } = await import('../run-guard.ts');
          const guard = guardRun(io, 'replay', () => ({ root: outDir }));
          if (!flags.quiet) io.stderr(`flowtape: replaying ${flow.name} against ${bundle}\n`);
          const { progressObserver } = await import('../progress.ts');
          try {
            const result = await asCliErrors(() =>
              replayBundle(sourceDir, flow, {
                cwd,
                outDir,
                flowFile: file,
                shell: flags.shell,
                ignore: flags.ignore,
                signal: guard.signal,
                ...(flags.from !== undefined ? { from: flags.from } : {}),
                ...(flags.agent !== undefined ? { agent: flags.agent } : {}),
                ...(flags.permission ? { permissionPolicy: flags.permission } : {}),
                ...(flags.auth !== undefined ? { auth: flags.auth } : {}),
                observer: guard.observe(flags.quiet ? undefined : progressObserver((text) => io.stderr(text))),
              }),
            );
            for (const miss of result.misses) {
              io.stderr(`flowtape: node "${miss.nodeId}" attempt ${miss.attemptId}: ${miss.message}\n${miss.diff}`);
            }
            if (result.liveTurns.length > 0) io.stderr(`flowtape: live turns (--agent): ${result.liveTurns.join(', ')}\n`);
            if (flags.json) {
              cli.json({
                bundle: result.run.bundleDir, runId: result.run.runId, status: result.run.status, replayOf: result.replayOf,
                misses: result.misses, liveTurns: result.liveTurns, diff: result.diff,
              }, 2);
            } else {
              // The diff engine's own report, as `flowtape diff` prints it.
              const { formatMarkdown, formatText } = await import('@flowtape/schema/diff');
              io.stdout(flags.markdown ? formatMarkdown(result.diff) : formatText(result.diff));
            }
            io.stderr(`flowtape: replay ${result.run.status} into ${result.run.bundleDir}: ${result.diff.same ? 'same as the recording' : `${result.diff.total} difference(s)`}\n`);
            return guard.verdict(diffExitCode(result.diff, io, 'comparison with the recording'));
          } finally {
            guard.stop();
          }
        }),
      );
  },
};
