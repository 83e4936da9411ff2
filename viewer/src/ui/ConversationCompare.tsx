// The two conversations of one session (the diff's session key: `handle`, `handle#2`) side by side, turn by turn,
// exactly as the diff engine aligns and compares them (compareTurns, over the schema's turns.ts): a turn one run
// inserted stands alone, the turns after it stay paired with their own, and an entry is marked changed where the
// engine reported a difference under it (the same paths `flowtape diff` lists), its changed fields named.
import { useEffect, useState } from 'react';
import type { ConversationEntry } from '@flowtape/schema';
import { pointer, type Difference } from '@flowtape/schema/diff';
import type { SessionInfo } from '../model/bundle-model.ts';
import type { SessionData } from '../model/sessions.ts';
import { compareTurns, type SideName } from '../model/compare.ts';
import type { Resources } from './resources.tsx';
import { EntryView } from './SessionPanel.tsx';
import { Shown } from './Shown.tsx';

type Loaded = { status: 'loading' } | { status: 'ok'; data: SessionData } | { status: 'error'; message: string } | { status: 'none' };

function useSession(resources: Resources, info: SessionInfo | undefined): Loaded {
  const [state, setState] = useState<Loaded>(info ? { status: 'loading' } : { status: 'none' });
  useEffect(() => {
    if (!info) return setState({ status: 'none' });
    let alive = true;
    setState({ status: 'loading' });
    resources.session(info, 0).then(
      (data) => { if (alive) setState({ status: 'ok', data }); },
      (err: unknown) => { if (alive) setState({ status: 'error', message: (err as Error).message }); },
    );
    return () => { alive = false; };
  }, [resources, info]);
  return state;
}

function Cell({ entry, fields, side }: { entry: ConversationEntry | undefined; fields: string[] | undefined; side: SideName }) {
  if (!entry) return <div className={`cmp-entry side-${side} missing`} data-testid={`cmp-entry-${side}`} data-changed="true"><span className="muted">(no entry)</span></div>;
  return (
    <div className={`cmp-entry side-${side} entry role-${entry.role}${fields ? ' changed' : ''}`} data-testid={`cmp-entry-${side}`} data-role={entry.role} data-changed={fields ? 'true' : 'false'}>
      {fields && <div className="changed-fields" data-testid="changed-fields">changed: <Shown text={fields.join(', ')} /></div>}
      <EntryView entry={entry} />
    </div>
  );
}

export interface ConversationCompareProps {
  sessionKey: string;
  info: Record<SideName, SessionInfo | undefined>;
  resources: Record<SideName, Resources>;
  /** Every difference of the diff (the session's are picked by path). */
  differences: readonly Difference[];
  /** Only the entries of this attempt (entries without an attempt are kept). */
  attemptId?: string;
  /** Each side's values as the diff compares them (CompareModel.normalize). */
  normalize: Record<SideName, (value: unknown) => unknown>;
}

export function ConversationCompare({ sessionKey, info, resources, differences, attemptId, normalize }: ConversationCompareProps) {
  const a = useSession(resources.a, info.a);
  const b = useSession(resources.b, info.b);
  const base = pointer('sessions', sessionKey);
  if (a.status === 'loading' || b.status === 'loading') return <div className="muted">loading conversations…</div>;
  const failed = [a, b].find((s): s is { status: 'error'; message: string } => s.status === 'error');
  if (failed) return <div className="error-text"><Shown text={failed.message} /></div>;
  const messages = { a: a.status === 'ok' ? a.data.messages : [], b: b.status === 'ok' ? b.data.messages : [] };
  const turns = compareTurns(messages, normalize, differences, base, attemptId);
  return (
    <div className="conversation-compare" data-testid="conversation-compare" data-session={sessionKey}>
      <div className="cmp-cols muted"><span>a</span><span>b</span></div>
      {turns.length === 0 && <div className="muted">No messages{attemptId ? ' for this attempt' : ''}.</div>}
      {turns.map((turn, t) => {
        const head = turn.a === turn.b ? `turn ${turn.a! + 1}` : `turn ${turn.a === undefined ? '—' : turn.a + 1} ⇄ ${turn.b === undefined ? '—' : turn.b + 1}`;
        return (
          <section key={t} className={`cmp-turn${turn.only ? ` only-${turn.only}` : ''}`} data-testid="cmp-turn" data-only={turn.only}>
            <div className="cmp-turn-head muted">{head}{turn.only && ` · only in ${turn.only}`}</div>
            {turn.rows.map((row, r) => (
              <div key={r} className={`cmp-row${row.changed ? ' changed' : ''}`} data-testid="cmp-row" data-changed={row.changed ? 'true' : 'false'}>
                <Cell entry={row.a} fields={row.fields} side="a" />
                <Cell entry={row.b} fields={row.fields} side="b" />
              </div>
            ))}
          </section>
        );
      })}
    </div>
  );
}
