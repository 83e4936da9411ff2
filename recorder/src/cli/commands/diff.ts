/** `flowtape diff <a> <b>`: exit 0 when the runs behave the same, 1 when they differ, 2 on bad input (diffExitCode). */
import type { DiffResult } from '@flowtape/schema/diff';
import type { CliCommand, CliIO } from '../context.ts';
import { UsageError } from '../errors.ts';
import { parsePort } from '../input.ts';
import { argPath, asCliErrors } from './tool-errors.ts';

interface DiffFlags {
  json?: boolean;
  markdown?: boolean;
  ignore: string[];
  maxDetails: string;
  usage?: boolean;
  view?: boolean;
  port?: number;
  open?: boolean;
}

export const diffCommand: CliCommand = {
  register(program, cli) {
    program
      .command('diff')
      .summary('compare two runs by behaviour (exit 0 same, 1 different, 2 error)')
      .description(
        'Compare two runs (bundle directories or packed .zip files) by behaviour: flow definition, path taken, ' +
          'attempt outcomes, outputs and errors, edge decisions, session conversations, artifacts by content. ' +
          'Attempts are aligned by node id and attempt number, never by time; volatile values (times, durations, ' +
          'run and session ids, absolute paths, temp dirs, pids) are ignored. Usage the agents reported (tokens, ' +
          'cost, context window) is listed in a section of its own and does not count unless --usage is given. ' +
          'Exit 0: same, 1: different, 2: error, or no difference found but lines of a bundle could not be read ' +
          '(listed as warnings: what was not read was not compared).',
      )
      .argument('<a>', 'the reference bundle (e.g. the golden one)')
      .argument('<b>', 'the bundle to compare with it')
      .option('--json', 'print the differences as JSON')
      .option('--markdown', 'print Markdown for a PR comment or $GITHUB_STEP_SUMMARY (kept under 64 KB)')
      .option(
        '--ignore <pattern>',
        'a JSON pointer (/attempts/review#1/output) or glob (**/tokens, /attempts/*/output/at) not to compare; without ' +
          'a leading / it matches at any depth (output/text: every attempt\'s /output/text, as the report lists it under ' +
          'its attempt); repeatable',
        (value: string, all: string[]) => [...all, value],
        [] as string[],
      )
      .option('--max-details <n>', 'differences to list in full (all are counted)', '1000')
      .option('--usage', 'count usage differences (tokens, cost, context window) as behaviour differences (exit 1)')
      .option('--view', 'after the report, open both runs in the viewer\'s compare page (served until Ctrl-C)')
      .option('--port <n>', 'with --view: the port (default: any free port)', parsePort)
      .option('--open', 'with --view: open the default browser')
      .action(
        cli.action(async (a: string, b: string, flags: DiffFlags) => {
          if (flags.json && flags.markdown) throw new UsageError('diff: choose one of --json and --markdown');
          const maxDetails = Number(flags.maxDetails);
          if (!Number.isInteger(maxDetails) || maxDetails < 0) throw new UsageError(`diff: --max-details: "${flags.maxDetails}" is not a whole number`);
          const { diffBundles } = await import('../../tools/diff.ts');
          const { formatMarkdown, formatText } = await import('@flowtape/schema/diff');
          const { readProgress } = await import('../progress.ts');
          const onProgress = readProgress(cli.io.stderr, (events) => `diff: ${events.toLocaleString('en-US')} trace events compared…`);
          const result = await asCliErrors(() => diffBundles(argPath(cli.io.cwd, a), argPath(cli.io.cwd, b), { ignore: flags.ignore, maxDetails, usage: flags.usage === true, onProgress }));
          if (flags.json) cli.json(result, 2);
          else if (flags.markdown) cli.io.stdout(formatMarkdown(result));
          else cli.io.stdout(formatText(result));
          if (flags.view) {
            // The page runs the same engine on the same bundles with the same options.
            const { compareInput, serveViewer } = await import('./view.ts');
            const compare = { ...(await compareInput(cli.io.cwd, a, b)), options: { ignore: flags.ignore, usage: flags.usage === true, maxDetails } };
            const port = flags.port !== undefined ? { port: flags.port } : {};
            await serveViewer(cli, { root: compare.a.root, host: '127.0.0.1', compare, ...port }, { path: `${a} ⇄ ${b}`, open: flags.open, quietStdout: flags.json === true || flags.markdown === true });
          }
          return diffExitCode(result, cli.io);
        }),
      );
  },
};

/**
 * 1 when the runs differ; 0 when they do not and both were read whole; 2 when no difference was found but lines
 * could not be read (an invalid or torn line, a seq gap, a line over the limit): what was not read was not
 * compared, so "same" would pass a damaged bundle through a CI gate. (The report lists them as warnings.)
 */
export function diffExitCode(result: DiffResult, io: CliIO, what = 'comparison'): number {
  if (!result.same) return 1;
  if (result.warnings.length === 0) return 0;
  io.stderr(`flowtape: the ${what} is incomplete: ${result.warnings.length} problem(s) reading the bundles (listed as warnings with the report): no difference found in what could be read\n`);
  return 2;
}
