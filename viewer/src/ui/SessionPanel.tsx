// The session tab: the ACP conversation up to the cursor, the selected attempt's slice highlighted, and a
// switch between the run's sessions. Agent text is rendered as text nodes only — never as HTML — and through
// <Shown>, so bidi controls in it are shown instead of reordering what is read.
import { memo, useCallback, useEffect, useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { AppendList, ConversationEntry, ErrorInfo, Step } from '@flowtape/schema';
import type { SessionData } from '../model/sessions.ts';
import { sessionLineType } from './EventsPanel.tsx';
import { SessionMarks } from '../model/session-marks.ts';
import { ConversationView, inSlice } from '../model/conversation-view.ts';
import { useStore, useView } from './store-context.tsx';
import { useCursorState, useFocusNode } from './hooks.ts';
import { useAsync, type Resources } from './resources.tsx';
import { TextBlock } from './ValueView.tsx';
import { MessageItems } from './MessageContent.tsx';
import { UsageLine } from './UsageView.tsx';
import { MessageText } from './MessageText.tsx';
import { DiffView } from './DiffView.tsx';
import { json, jsonLine } from './format.ts';
import { Shown, shown } from './Shown.tsx';
import { revealBidi } from './bidi.ts';
import { TurnOrigin } from './TurnOrigin.tsx';

type ToolCall = Extract<ConversationEntry, { role: 'tool_call' }>;

function ContentBlock({ block }: { block: unknown }) {
  const b = (typeof block === 'object' && block !== null ? block : {}) as Record<string, unknown>;
  const inner = (typeof b.content === 'object' && b.content !== null ? b.content : undefined) as Record<string, unknown> | undefined;
  if (b.type === 'content' && inner?.type === 'text' && typeof inner.text === 'string') return <TextBlock text={inner.text} />;
  if (b.type === 'diff' && typeof b.path === 'string' && typeof b.newText === 'string') {
    return <DiffView path={b.path} oldText={typeof b.oldText === 'string' ? b.oldText : null} newText={b.newText} />;
  }
  if (b.type === 'terminal') return <div className="muted">terminal {shown(b.terminalId)}</div>;
  return <TextBlock text={json(block)} className="json" />;
}

function ToolCallView({ entry }: { entry: ToolCall }) {
  return (
    <>
      <div className="entry-head">
        <span className="role">tool call</span>
        <b className="tool-title" data-testid="tool-title"><Shown text={entry.title ?? entry.toolCallId} /></b>
        {entry.toolKind && <span className="muted"><Shown text={entry.toolKind} /></span>}
        <span className={`tool-status tool-${entry.status ?? 'pending'}`} data-testid="tool-status"><Shown text={entry.status ?? 'pending'} /></span>
      </div>
      {entry.content?.map((c, i) => <ContentBlock key={i} block={c} />)}
      {(entry.rawInput !== undefined || entry.rawOutput !== undefined) && (
        <details>
          <summary>raw input / output</summary>
          {entry.rawInput !== undefined && <TextBlock text={json(entry.rawInput)} className="json" />}
          {entry.rawOutput !== undefined && <TextBlock text={json(entry.rawOutput)} className="json" />}
        </details>
      )}
    </>
  );
}

export function EntryView({ entry }: { entry: ConversationEntry }) {
  switch (entry.role) {
    case 'user':
      return <><div className="entry-head"><span className="role">user</span></div><MessageText text={entry.text} /><MessageItems items={entry.content} /></>;
    case 'agent':
      return <><div className="entry-head"><span className="role">agent</span></div><MessageText text={entry.text} /><MessageItems items={entry.content} /></>;
    case 'thought':
      return (
        <details className="thought">
          <summary><span className="role">thought</span> <span className="muted">{entry.text.length} characters</span></summary>
          <div className="message-text"><Shown text={entry.text} /></div>
        </details>
      );
    case 'tool_call':
      return <ToolCallView entry={entry} />;
    case 'plan':
      return (
        <>
          <div className="entry-head"><span className="role">plan</span></div>
          <ol className="plan">
            {entry.entries.map((p, i) => <li key={i} className={`plan-${p.status ?? 'pending'}`} data-testid="plan-entry"><span className="muted">[<Shown text={p.status ?? 'pending'} />]</span> <Shown text={p.content} /></li>)}
          </ol>
        </>
      );
    case 'permission': {
      const chosen = entry.answer?.optionId ? entry.options.find((o) => o.optionId === entry.answer?.optionId) : undefined;
      return (
        <>
          <div className="entry-head"><span className="role">permission</span><b><Shown text={entry.title ?? entry.toolCallId ?? 'request'} /></b></div>
          <div className="options">options: {entry.options.map((o) => <code key={o.optionId} className={o === chosen ? 'chosen' : ''}><Shown text={o.name} /></code>)}</div>
          <div className="answer" data-testid="permission-answer">
            answer: {entry.answer ? (entry.answer.outcome === 'selected' ? <b><Shown text={chosen?.name ?? entry.answer.optionId} /></b> : <b>cancelled</b>) : <i>pending</i>}
          </div>
        </>
      );
    }
  }
}

/**
 * One session's conversation. A conversation once shown stays mounted, hidden while another session is on screen:
 * stepping often moves between attempts of different sessions, and a list mounted again would measure its 100k+
 * entries again on each move.
 */
const Conversation = memo(function Conversation({ data, step, watermark, hidden: offScreen }: {
  data: SessionData;
  step: Step | undefined;
  watermark: number;
  hidden: boolean;
}) {
  const view = ConversationView.of(data.messages);
  const shown = useMemo(() => view.visible(watermark), [view, watermark]);
  const { entries, count } = shown;
  const hidden = data.messages.length - count;
  const parentRef = useRef<HTMLDivElement>(null);
  // Stable while the entries are: the virtualizer re-measures its whole list when the key function changes.
  const getItemKey = useCallback((i: number) => entries[i]!.index, [entries]);
  // The virtualizer holds every entry of `entries`, shown or not, and only the first `count` are drawn: its
  // measurements are then made once per conversation, not again (a pass over every entry) whenever a step of the
  // cursor shows one more.
  const virtualizer = useVirtualizer({
    count: entries.length,
    getScrollElement: () => parentRef.current,
    estimateSize: () => 72,
    overscan: 6,
    getItemKey,
  });
  // (getVirtualItems brings measurementsCache up to date, which the height below reads.)
  const items = virtualizer.getVirtualItems().filter((item) => item.index < count);
  const firstInSlice = view.firstInSlice(shown, step);
  useEffect(() => {
    if (firstInSlice >= 0) virtualizer.scrollToIndex(firstInSlice, { align: 'start' });
    // Scroll when the attempt or the conversation changes, not on every re-render.
  }, [step?.attemptId, data]);
  if (offScreen) return <div className="conversation" ref={parentRef} style={{ display: 'none' }} />;
  return (
    <div className="conversation" ref={parentRef} data-testid="conversation">
      <div style={{ height: count === entries.length ? virtualizer.getTotalSize() : (virtualizer.measurementsCache[count - 1]?.end ?? 0), position: 'relative' }}>
        {items.map((item) => {
          const entry = entries[item.index]!;
          const hl = inSlice(entry, step);
          return (
            <div
              key={item.key}
              ref={virtualizer.measureElement}
              data-index={item.index}
              className={`entry role-${entry.role}${hl ? ' highlight' : ''}`}
              data-testid="entry"
              data-role={entry.role}
              data-attempt={entry.attemptId ?? ''}
              data-highlight={hl ? 'true' : 'false'}
              style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${item.start}px)` }}
            >
              <TurnOrigin entry={entry} />
              <EntryView entry={entry} />
            </div>
          );
        })}
      </div>
      {count === 0 && <div className="empty">No messages in this session yet at this point of the run.</div>}
      {hidden > 0 && <div className="muted later" data-testid="hidden-later">{hidden} later entr{hidden === 1 ? 'y' : 'ies'} after the cursor</div>}
    </div>
  );
});

/** A long session's attempt ids run to thousands: joined and scanned once, not on every step of the cursor. */
const AttemptIds = memo(function AttemptIds({ ids }: { ids: AppendList<string> }) {
  return <Shown text={ids.join(', ')} />;
});

/** A session whose agent failed before session/new succeeded: the error and the raw handshake, line by line. */
function FailedSession({ data, error }: { data: SessionData; error: ErrorInfo }) {
  const shown = data.events.slice(0, 500);
  return (
    <div className="session-failed" data-testid="session-failed">
      <div className="error-text" data-testid="session-error">
        the session could not be started{error.code ? <> (<Shown text={error.code} />)</> : ''}: <Shown text={error.message} />
      </div>
      {data.events.length === 0 ? (
        <div className="muted">Nothing crossed the agent's stdio.</div>
      ) : (
        <ol className="handshake" data-testid="handshake">
          {shown.map((r) => (
            <li key={r.event.seq} data-testid="handshake-line" data-direction={r.event.direction} data-type={sessionLineType(r)}>
              <span className="muted">{r.event.seq} {r.event.direction}</span> <b><Shown text={sessionLineType(r)} /></b>
              <code className="handshake-json"><Shown text={r.event.message !== undefined ? jsonLine(r.event.message) : r.event.text} /></code>
            </li>
          ))}
        </ol>
      )}
      {data.events.length > shown.length && <div className="muted">{data.events.length - shown.length} more lines in the events tab</div>}
    </div>
  );
}

export function SessionPanel() {
  const store = useStore();
  const model = useView((s) => s.model)!;
  const cursor = useView((s) => s.cursor);
  const picked = useView((s) => s.session);
  const state = useCursorState();
  const focus = useFocusNode();
  const step = focus.attemptId !== undefined ? (() => {
    const i = state.stepIndex.get(focus.attemptId);
    return i === undefined ? undefined : state.steps.get(i);
  })() : undefined;
  const sessions = model.sessions;
  const sessionId = picked ?? step?.sessionId ?? sessions[0]?.sessionId;
  const info = sessions.find((s) => s.sessionId === sessionId);
  const version = info ? (model.sessionVersions.get(info.sessionId) ?? 0) : 0;
  const load = useCallback((r: Resources) => r.session(info!, version), [info, version]);
  const data = useAsync(info ? `session:${info.path}@${version}` : undefined, load);
  // Every conversation shown so far, by session directory (the latest version of each).
  const kept = useRef(new Map<string, SessionData>()).current;
  if (info && data.status === 'ok') kept.set(info.path, data.value);
  if (sessions.length === 0) return <div className="empty" data-testid="session-panel">This run has no ACP sessions.</div>;
  const summary = sessionId ? model.timeline.final.sessions.get(sessionId) : undefined;
  // Up to the cursor, like the conversation: every turn's usage in this session, folded by the reducer.
  const sessionUsage = sessionId ? state.sessions.get(sessionId)?.usage : undefined;
  const watermark = cursor >= model.timeline.length ? Infinity : sessionId ? SessionMarks.of(model.timeline).watermark(sessionId, cursor) : 0;
  return (
    <div className="session-panel" data-testid="session-panel" data-session={sessionId}>
      <div className="panel-head">
        <label>
          session{' '}
          <select data-testid="session-select" value={sessionId} onChange={(e) => store.setState({ session: e.target.value })}>
            {sessions.map((s) => {
              const sum = model.timeline.final.sessions.get(s.sessionId);
              return <option key={s.sessionId} value={s.sessionId}>{revealBidi(`${s.sessionId}${sum ? ` (${sum.handle})` : ''}`)}</option>;
            })}
          </select>
        </label>
        {summary && <span className="muted">handle <Shown text={summary.handle} /> · <Shown text={summary.mode} /> · attempts <AttemptIds ids={summary.attemptIds} /></span>}
        {sessionUsage && <span className="muted">usage <UsageLine usage={sessionUsage} testId="session-usage" /></span>}
        {step && step.sessionId === sessionId && <span className="slice-note">highlighted: <Shown text={step.attemptId} /></span>}
      </div>
      {data.status === 'loading' && <div className="muted">loading session…</div>}
      {data.status === 'error' && <div className="error-text"><Shown text={data.message} /></div>}
      {data.status === 'ok' && (() => {
        const failure = data.value.binding?.error ?? summary?.error;
        return (
          <>
            {data.value.binding && (
              <div className="binding muted">
                agent <code><Shown text={data.value.binding.agentCommand.join(' ')} /></code> · ACP session <code><Shown text={data.value.binding.acpSessionId ?? 'none'} /></code>
                {data.value.source === 'events' && ' · conversation rebuilt from events.ndjson'}
              </div>
            )}
            {data.value.issues.map((i, n) => <div key={n} className={`issue ${i.severity}`}><Shown text={i.message} /></div>)}
            {failure && <FailedSession data={data.value} error={failure} />}
          </>
        );
      })()}
      {[...kept].map(([path, d]) => {
        const current = data.status === 'ok' && d === data.value && !((d.binding?.error ?? summary?.error) && d.messages.length === 0);
        return current
          ? <Conversation key={path} data={d} step={step?.sessionId === sessionId ? step : undefined} watermark={watermark} hidden={false} />
          : <Conversation key={path} data={d} step={undefined} watermark={Infinity} hidden />;
      })}
    </div>
  );
}
