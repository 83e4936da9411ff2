// A shell action fails; a switch on `$result.outcome` routes the failure to a diagnosis instead of failing the
// run. The build's long stdout goes to an artifact (> 2 KiB), its stderr stays inline.
//   flowtape run samples/shell-routing/shell-routing.flow.ts
import { action, compute, defineFlow, shell } from '@flowtape/recorder';

export default defineFlow({
  name: 'shell-routing',
  description: 'A failing build is routed by its outcome to a diagnosis step.',
  startAt: 'build',
  nodes: {
    build: shell({
      title: 'Build',
      exec: {
        command: 'sh',
        args: ['-c', 'echo "compiling 300 modules"; i=1; while [ $i -le 300 ]; do echo "  compiled module $i"; i=$((i+1)); done; echo "error: src/app.ts:12: missing semicolon" >&2; exit 2'],
      },
    }),
    ship: compute({ title: 'Ship', run: () => ({ shipped: true }) }),
    diagnose: action({
      title: 'Diagnose the failure',
      run: ({ results }) => {
        const failed = results.build?.output as { exitCode?: number; stderr?: string } | undefined;
        return { exitCode: failed?.exitCode ?? null, cause: (failed?.stderr ?? '').trim() };
      },
    }),
  },
  edges: [
    { from: 'build', switch: { on: '$result.outcome', cases: { ok: 'ship', failed: 'diagnose' } } },
  ],
});
