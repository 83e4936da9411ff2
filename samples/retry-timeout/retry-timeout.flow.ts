// A node timeout and a retry loop: the first `fetch` attempt hangs and is stopped by its timeoutMs; the switch on
// `$result.outcome` sends it to `backoff`, which loops back, and `fetch#2` succeeds.
//   flowtape run samples/retry-timeout/retry-timeout.flow.ts
import { compute, defineFlow, shell } from '@flowtape/recorder';

export default defineFlow({
  name: 'retry-timeout',
  description: 'Retry a step that timed out.',
  startAt: 'fetch',
  nodes: {
    fetch: shell({
      title: 'Fetch the index',
      timeoutMs: 300,
      exec: ({ attempt }) => (attempt === 1 ? { command: 'sleep', args: ['30'] } : { command: 'echo', args: ['index fetched'] }),
      parse: (result) => ({ body: result.stdout.trim() }),
    }),
    backoff: compute({
      title: 'Back off and retry',
      run: ({ results }) => ({ retrying: true, after: results.fetch?.outcome }),
    }),
    done: compute({ title: 'Done', run: ({ outputs }) => ({ body: outputs.fetch.body }) }),
  },
  edges: [
    { from: 'fetch', switch: { on: '$result.outcome', cases: { ok: 'done', timed_out: 'backoff' } } },
    { from: 'backoff', to: 'fetch' },
  ],
});
