// Two turns with one agent in a shared ACP session (thoughts, a plan, a tool call reading a file, a permission
// request), then a decision routes on the agent's answer through switch edges.
//   flowtape run samples/conversation/conversation.flow.ts \
//     --agent "flowtape-scripted-agent --script samples/conversation/agent.json" --permission approve-all
import { acp, compute, decision, decisionEdge, defineFlow } from '@flowtape/recorder';

export default defineFlow({
  name: 'conversation',
  description: 'Summarise notes with an agent, let it ask before writing, then route on its answer.',
  startAt: 'brief',
  nodes: {
    brief: compute({
      title: 'Prepare the brief',
      run: ({ input }) => ({ file: typeof input?.file === 'string' ? input.file : 'notes.txt' }),
    }),
    summarise: acp({
      title: 'Summarise the notes',
      prompt: ({ outputs }) => `Summarise ${outputs.brief.file}`,
      parse: (text) => ({ summary: text }),
    }),
    write: acp({
      title: 'Write the summary',
      prompt: ({ outputs }) => `Write the summary to summary.md: ${outputs.summarise.summary}`,
    }),
    route: decision({
      title: 'Publish or revise?',
      choices: ['publish', 'revise'],
      run: ({ outputs }) => (String(outputs.write).includes('written') ? 'publish' : 'revise'),
    }),
    publish: compute({ title: 'Publish', run: ({ outputs }) => ({ published: true, summary: outputs.summarise.summary }) }),
    revise: compute({ title: 'Revise', run: () => ({ published: false }) }),
  },
  edges: [
    { from: 'brief', to: 'summarise' },
    { from: 'summarise', to: 'write' },
    { from: 'write', to: 'route' },
    decisionEdge({ from: 'route', choices: ['publish', 'revise'], cases: { publish: 'publish', revise: 'revise' } }),
  ],
});
