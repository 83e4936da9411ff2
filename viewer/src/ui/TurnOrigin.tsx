// In a replayed bundle (manifest `replayOf`), where each ACP turn came from: the recording, a live agent (hybrid or
// `--from` replay), or nowhere (a miss: the recording lacked the prompt). Shown on the turn's prompt entry; nothing
// for a bundle that is not a replay. The mark is the record.json entry's `replay` field (SPEC "Replay").
import type { ConversationEntry } from '@flowtape/schema';
import { useView } from './store-context.tsx';

const LABELS = {
  recorded: ['from the recording', 'the replay agent answered this turn as recorded'],
  live: ['live agent', 'the recording lacked this prompt (or it came after --from): a live agent answered it'],
  miss: ['replay miss', 'the recording lacked this prompt and no live agent was given'],
} as const;

export function TurnOrigin({ entry }: { entry: ConversationEntry }) {
  const replay = useView((s) => s.model?.manifest?.replayOf !== undefined);
  if (!replay || entry.role !== 'user') return null;
  const origin = entry.replay ?? 'recorded';
  const [label, title] = LABELS[origin];
  return <span className={`turn-origin turn-${origin}`} data-testid="turn-origin" data-origin={origin} title={title}>{label}</span>;
}
