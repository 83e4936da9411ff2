// The two conversations of one session (the diff's session key: `handle`, `handle#2`) aligned turn by turn: a
// turn starts at each user message; within a turn, entries are paired in order. An entry is marked changed where
// the diff engine reported a difference under its message (the same paths `flowtape diff` lists), and the
// changed fields are named.
import { useEffect, useState } from 'react';
import type { ConversationEntry } from '@flowtape/schema';
import { pointer, type Difference } from '@flowtape/schema/diff';
import type { SessionInfo } from '../model/bundle-model.ts';
import type { SessionData } from '../model/sessions.ts';
import type { SideName } from '../model/compare.ts';
import type { Resources } from './resources.tsx';
import { EntryView } from './SessionPanel.tsx';
import { Shown } from './Shown.tsx';

interface Turn {
  /** Each entry with its position in the conversation (what the diff's `/messages/<n>` counts). */
  entries: Array<{ entry: ConversationEntry; at: number }>;
}

function turnsOf(messages: readonly ConversationEntry[], attemptId: string | undefined): Turn[] {
  const turns: Turn[] = [];
  messages.forEach((entry, at) => {
    if (attemptId !== undefined && entry.attemptId !== undefined && entry.attemptId !== attemptId) return;
    if (entry.role === 'user' || turns.length === 0) turns.push({ entries: [] });
    turns.at(-1)!.entries.push({ entry, at });
  });
  return turns;
}

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

/** The fields of message `index` the diff found changed (paths relative to the message), or undefined when equal. */
function changedFields(differences: readonly Difference[], base: string, index: number): string[] | undefined {
  const prefix = `${base}/messages/${index}`;
  const fields = differences.filter((d) => d.path === prefix || d.path.startsWith(prefix + '/')).map((d) => d.path.slice(prefix.length) || '(whole entry)');
  return fields.length > 0 ? fields : undefined;
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
}

export function ConversationCompare({ sessionKey, info, resources, differences, attemptId }: ConversationCompareProps) {
  const a = useSession(resources.a, info.a);
  const b = useSession(resources.b, info.b);
  const base = pointer('sessions', sessionKey);
  if (a.status === 'loading' || b.status === 'loading') return <div className="muted">loading conversations…</div>;
  const failed = [a, b].find((s): s is { status: 'error'; message: string } => s.status === 'error');
  if (failed) return <div className="error-text"><Shown text={failed.message} /></div>;
  const messagesA = a.status === 'ok' ? a.data.messages : [];
  const messagesB = b.status === 'ok' ? b.data.messages : [];
  const turnsA = turnsOf(messagesA, attemptId);
  const turnsB = turnsOf(messagesB, attemptId);
  const count = Math.max(turnsA.length, turnsB.length);
  return (
    <div className="conversation-compare" data-testid="conversation-compare" data-session={sessionKey}>
      <div className="cmp-cols muted"><span>a</span><span>b</span></div>
      {count === 0 && <div className="muted">No messages{attemptId ? ' for this attempt' : ''}.</div>}
      {Array.from({ length: count }, (_, t) => {
        const ea = turnsA[t]?.entries ?? [];
        const eb = turnsB[t]?.entries ?? [];
        const rows = Math.max(ea.length, eb.length);
        return (
          <section key={t} className="cmp-turn" data-testid="cmp-turn">
            <div className="cmp-turn-head muted">turn {t + 1}</div>
            {Array.from({ length: rows }, (_, r) => {
              const ma = ea[r]?.entry;
              const mb = eb[r]?.entry;
              const fa = ea[r] ? changedFields(differences, base, ea[r].at) : undefined;
              const fb = eb[r] ? changedFields(differences, base, eb[r].at) : undefined;
              const changed = Boolean(fa || fb || !ma || !mb);
              return (
                <div key={r} className={`cmp-row${changed ? ' changed' : ''}`} data-testid="cmp-row" data-changed={changed ? 'true' : 'false'}>
                  <Cell entry={ma} fields={fa} side="a" />
                  <Cell entry={mb} fields={fb} side="b" />
                </div>
              );
            })}
          </section>
        );
      })}
    </div>
  );
}
