// The two conversations of one session (the diff's session key: `handle`, `handle#2`) aligned turn by turn: a
// turn starts at each user message, and turns are paired by their prompt (alignByKey), so a turn inserted in one
// run does not shift every later turn to "changed"; within a turn, entries are paired in order. An entry at the
// same position in both runs is marked changed where the diff engine reported a difference under its message (the
// same paths `flowtape diff` lists); an entry paired across a shift (the diff compares by position) is compared
// here, as the diff would compare it, and its changed fields are named the same way.
import { useEffect, useState } from 'react';
import type { ConversationEntry } from '@flowtape/schema';
import { jsonEqual, pointer, type Difference } from '@flowtape/schema/diff';
import type { SessionInfo } from '../model/bundle-model.ts';
import type { SessionData } from '../model/sessions.ts';
import { alignByKey, type SideName } from '../model/compare.ts';
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

/** A turn's key for alignment: its prompt as the diff compares it ('' for what comes before the first prompt). */
function turnKey(turn: Turn, normalize: (v: unknown) => unknown): string {
  const first = turn.entries[0]?.entry;
  return first?.role === 'user' ? JSON.stringify(normalize(first.text)) : '';
}

/** An entry as the diff compares it (diff/bundles.ts `conversation`): without positions and agent-made tool ids. */
function comparable(entry: ConversationEntry, normalize: (v: unknown) => unknown): Record<string, unknown> {
  const { index: _index, sessionEvents: _events, ...rest } = entry as ConversationEntry & { index?: unknown; sessionEvents?: unknown };
  const copy: Record<string, unknown> = { ...rest };
  delete copy.toolCallId;
  return normalize(copy) as Record<string, unknown>;
}

/** The top-level fields two entries paired across a shift differ in, or undefined when equal. */
function shiftedFields(a: ConversationEntry, b: ConversationEntry, normalize: ConversationCompareProps['normalize']): string[] | undefined {
  const ca = comparable(a, normalize.a);
  const cb = comparable(b, normalize.b);
  const fields = [...new Set([...Object.keys(ca), ...Object.keys(cb)])].filter((k) => !jsonEqual(ca[k], cb[k])).map((k) => `/${k}`);
  return fields.length > 0 ? fields : undefined;
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
  const messagesA = a.status === 'ok' ? a.data.messages : [];
  const messagesB = b.status === 'ok' ? b.data.messages : [];
  const turnsA = turnsOf(messagesA, attemptId);
  const turnsB = turnsOf(messagesB, attemptId);
  const aligned = alignByKey(turnsA.map((t) => turnKey(t, normalize.a)), turnsB.map((t) => turnKey(t, normalize.b)));
  return (
    <div className="conversation-compare" data-testid="conversation-compare" data-session={sessionKey}>
      <div className="cmp-cols muted"><span>a</span><span>b</span></div>
      {aligned.length === 0 && <div className="muted">No messages{attemptId ? ' for this attempt' : ''}.</div>}
      {aligned.map((pair, t) => {
        const ea = pair.a !== undefined ? turnsA[pair.a]!.entries : [];
        const eb = pair.b !== undefined ? turnsB[pair.b]!.entries : [];
        const rows = Math.max(ea.length, eb.length);
        const only = pair.a === undefined ? 'b' : pair.b === undefined ? 'a' : '';
        const head = pair.a === pair.b ? `turn ${pair.a! + 1}` : `turn ${pair.a === undefined ? '—' : pair.a + 1} ⇄ ${pair.b === undefined ? '—' : pair.b + 1}`;
        return (
          <section key={t} className={`cmp-turn${only ? ` only-${only}` : ''}`} data-testid="cmp-turn" data-only={only}>
            <div className="cmp-turn-head muted">{head}{only && ` · only in ${only}`}</div>
            {Array.from({ length: rows }, (_, r) => {
              const ia = ea[r];
              const ib = eb[r];
              let fa: string[] | undefined;
              let fb: string[] | undefined;
              if (ia && ib && ia.at !== ib.at) {
                // Paired across a shift: the diff's by-position paths are about other entries.
                fa = fb = shiftedFields(ia.entry, ib.entry, normalize);
              } else {
                fa = ia ? changedFields(differences, base, ia.at) : undefined;
                fb = ib ? changedFields(differences, base, ib.at) : undefined;
              }
              const changed = Boolean(fa || fb || !ia || !ib);
              return (
                <div key={r} className={`cmp-row${changed ? ' changed' : ''}`} data-testid="cmp-row" data-changed={changed ? 'true' : 'false'}>
                  <Cell entry={ia?.entry} fields={fa} side="a" />
                  <Cell entry={ib?.entry} fields={fb} side="b" />
                </div>
              );
            })}
          </section>
        );
      })}
    </div>
  );
}
