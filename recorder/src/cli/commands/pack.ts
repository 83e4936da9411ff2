/** `flowtape pack <bundle> [-o run.flowtape.zip]`: one file to share a run; `flowtape view` and the viewer open it. */
import { resolve } from 'node:path';
import type { CliCommand } from '../context.ts';
import { asCliErrors } from './tool-errors.ts';

export const packCommand: CliCommand = {
  register(program, cli) {
    program
      .command('pack')
      .summary('pack a bundle into one .zip to share')
      .description(
        'Pack a bundle into one .zip: its files at the zip root and only the artifacts the trace references. ' +
          'Open it with `flowtape view <file>.zip` or drop it on the viewer.',
      )
      .argument('<bundle>', 'the bundle directory')
      .option('-o, --output <file>', 'the zip to create (default: <bundle folder name>.flowtape.zip here); must not exist: pack never replaces a file')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (bundle: string, flags: { output?: string; json?: boolean }) => {
          const { defaultPackName, packBundle } = await import('../../tools/pack.ts');
          const output = resolve(cli.io.cwd, flags.output ?? defaultPackName(bundle));
          const report = await asCliErrors(() => packBundle(resolve(cli.io.cwd, bundle), { output }));
          if (flags.json) {
            cli.json(report, 2);
          } else {
            const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
            cli.io.stdout(
              `${report.output}: ${report.files.length} files (${report.artifacts} artifacts), ${kb(report.inputBytes)} → ${kb(report.zipBytes)}\n`,
            );
            for (const path of report.missing) cli.io.stderr(`warning: ${path}: referenced by the trace but missing; not packed\n`);
            for (const warning of report.warnings) cli.io.stderr(`warning: ${warning}\n`);
          }
          return 0;
        }),
      );
  },
};
