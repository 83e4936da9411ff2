// A checkpoint: the run waits for a person, then `flowtape resume <bundle> --input '{"approved":true}'`
// continues it (in another process; the bundle grows, seq continues) and a switch on `$resume.approved` routes.
//   flowtape run samples/checkpoint/checkpoint.flow.ts
import { action, checkpoint, compute, defineFlow } from '@flowtape/recorder';

export default defineFlow({
  name: 'checkpoint',
  description: 'Prepare a release, wait for approval, then release or abandon.',
  startAt: 'prepare',
  nodes: {
    prepare: compute({ title: 'Prepare the release', run: ({ input }) => ({ version: typeof input?.version === 'string' ? input.version : '1.0.0' }) }),
    approval: checkpoint({ title: 'Approval', summary: 'Approve the release?' }),
    release: action({ title: 'Release', run: ({ outputs, resume }) => ({ released: outputs.prepare.version, by: (resume as { by?: string } | undefined)?.by ?? 'unknown' }) }),
    abandon: compute({ title: 'Abandon', run: () => ({ released: false }) }),
  },
  edges: [
    { from: 'prepare', to: 'approval' },
    { from: 'approval', switch: { on: '$resume.approved', cases: { true: 'release', false: 'abandon' } } },
  ],
});
