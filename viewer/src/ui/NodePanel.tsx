// The node tab: the node's definition and its attempts at the cursor (outcome, error, timing, input/output,
// ACP turns with prompt and response, the shell/function receipt, artifacts). Every string from the bundle is
// shown through <Shown> (bidi controls visible), every JSON value through the depth-limited json()/jsonLine().
import { memo, useState } from 'react';
import type { NodeSpec, Step, Turn } from '@flowtape/schema';
import { useStore, useView } from './store-context.tsx';
import { attemptsAt, type NodeAttempts, useCursorState, useFocusNode } from './hooks.ts';
import { graphStructure } from '../model/graph-view.ts';
import { ArtifactView, TextBlock, ValueView } from './ValueView.tsx';
import { formatDuration, formatTime, json, jsonLine } from './format.ts';
import { Shown } from './Shown.tsx';
import type { Timeline } from '../model/timeline.ts';
import { turnUsage, UsageLine } from './UsageView.tsx';

function Field({ name, children }: { name: string; children: React.ReactNode }) {
  if (children === undefined || children === null || children === '') return null;
  return (
    <>
      <dt><Shown text={name} /></dt>
      <dd>{children}</dd>
    </>
  );
}

function Definition({ spec }: { spec: NodeSpec }) {
  const s = spec as Record<string, unknown>;
  const long = ['promptSource', 'source', 'command', 'message', 'description'];
  const skip = new Set(['id', 'nodeType', ...long]);
  return (
    <section className="definition" data-testid="node-definition">
      <h4>Definition</h4>
      <dl>
        <Field name="type"><Shown text={`${spec.nodeType}${spec.nodeType === 'action' ? ` (${spec.actionType})` : ''}`} /></Field>
        {Object.entries(s).filter(([k, v]) => !skip.has(k) && v !== undefined).map(([k, v]) => (
          <Field key={k} name={k}>{typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? <Shown text={String(v)} /> : <code><Shown text={jsonLine(v)} /></code>}</Field>
        ))}
      </dl>
      {long.filter((k) => typeof s[k] === 'string').map((k) => (
        <div key={k}><div className="value-label">{k}</div><TextBlock text={s[k] as string} /></div>
      ))}
    </section>
  );
}

function promptOf(timeline: Timeline, turn: Turn) {
  const i = timeline.countForSeq(turn.promptSeq) - 1;
  const e = timeline.events[i];
  if (!e || e.seq !== turn.promptSeq || e.type !== 'acp.prompt_sent') return undefined;
  return (e.payload as { prompt?: import('@flowtape/schema').ValueRef }).prompt;
}

function TurnView({ turn, n, timeline }: { turn: Turn; n: number; timeline: Timeline }) {
  const prompt = promptOf(timeline, turn);
  return (
    <div className="turn" data-testid="turn">
      <div className="turn-head">
        turn {n} · {turn.stopReason === undefined ? <span className="status-text status-running">in progress</span> : <>stop: <code><Shown text={String(turn.stopReason)} /></code></>}
        {turn.sessionEvents && <span className="muted"> · session events {turn.sessionEvents.from}–{turn.sessionEvents.to}</span>}
        {turn.messages && <span className="muted"> · messages {turn.messages.from}–{turn.messages.to}</span>}
      </div>
      {turn.error && <div className="error-text"><Shown text={turn.error.message} /></div>}
      {turn.usage !== undefined && <div><UsageLine usage={turnUsage(turn.usage)} testId="turn-usage" /></div>}
      <ValueView value={prompt} label="prompt" />
      <ValueView value={turn.response} label="response" />
    </div>
  );
}

// Memoised on the Step object: the reducer's state is structurally shared, so an attempt that did not change
// between two cursor positions is the same object and is not re-rendered.
const AttemptView = memo(function AttemptView({ step, timeline, abandoned }: { step: Step; timeline: Timeline; abandoned: boolean }) {
  const store = useStore();
  const a = step.action;
  return (
    <section className="attempt" data-testid="attempt" data-attempt={step.attemptId} data-status={step.status}>
      <dl>
        <Field name="attempt"><Shown text={step.attemptId} /></Field>
        <Field name="outcome"><span className={`status-text status-${step.status}`} data-testid="attempt-outcome">{step.status}</span></Field>
        <Field name="started">{formatTime(step.startedAt)} <span className="muted">(seq {step.startSeq})</span></Field>
        <Field name="ended">{step.endedAt ? <>{formatTime(step.endedAt)} <span className="muted">(seq {step.endSeq})</span></> : undefined}</Field>
        <Field name="duration">{step.durationMs !== undefined ? formatDuration(step.durationMs) : undefined}</Field>
        <Field name="usage">{step.usage ? <UsageLine usage={step.usage} testId="attempt-usage" /> : undefined}</Field>
        <Field name="heartbeats">{step.heartbeats > 0 ? `${step.heartbeats} (last ${formatTime(step.lastHeartbeatAt)})` : undefined}</Field>
        <Field name="next">{step.next ? (
          <span data-testid="attempt-next">
            → <b><Shown text={step.next.to} /></b>
            {step.next.branch && <> because <code><Shown text={step.next.branch.on} /></code> = <code><Shown text={jsonLine(step.next.branch.value)} /></code> (<Shown text={step.next.branch.isDefault ? 'default' : `case ${step.next.branch.caseKey}`} />)</>}
          </span>
        ) : undefined}</Field>
        <Field name="session">{step.sessionId ? (
          <button type="button" className="link" onClick={() => store.setState({ tab: 'session', session: step.sessionId })}><Shown text={step.sessionId} /></button>
        ) : undefined}</Field>
      </dl>
      {abandoned && (
        <div className="error-box" data-testid="attempt-abandoned">
          No outcome was recorded for this attempt: the trace ends while it runs (the writer stopped). <code>flowtape repair</code> closes it as <code>interrupted</code>.
        </div>
      )}
      {step.error && (
        <div className="error-box" data-testid="attempt-error">
          <b><Shown text={step.error.code ?? step.error.name ?? 'error'} /></b>: <Shown text={step.error.message} />
          {step.error.stack && <details><summary>stack</summary><TextBlock text={step.error.stack} /></details>}
        </div>
      )}
      <ValueView value={step.input} label="input" />
      <ValueView value={step.output} label="output" />
      {step.turns.map((t, i) => <TurnView key={t.promptSeq} turn={t} n={i + 1} timeline={timeline} />)}
      {a && (
        <div className="receipt" data-testid="receipt">
          <h4>{a.actionType === 'shell' ? 'Shell' : 'Function'} receipt</h4>
          <dl>
            <Field name="command">{a.command !== undefined ? <code><Shown text={typeof a.command === 'string' ? a.command : a.command.join(' ')} /></code> : undefined}</Field>
            <Field name="cwd">{a.cwd ? <Shown text={a.cwd} /> : undefined}</Field>
            <Field name="ok">{a.ok === undefined ? 'running' : String(a.ok)}</Field>
            <Field name="exit code">{a.exitCode === undefined ? undefined : String(a.exitCode)}</Field>
            <Field name="signal">{a.signal ? <Shown text={a.signal} /> : undefined}</Field>
            <Field name="duration">{a.durationMs !== undefined ? formatDuration(a.durationMs) : undefined}</Field>
          </dl>
          {a.error && <div className="error-text"><Shown text={a.error.message} /></div>}
          <ValueView value={a.stdout} label="stdout" />
          <ValueView value={a.stderr} label="stderr" />
        </div>
      )}
      {step.artifacts.length > 0 && (
        <div className="artifacts" data-testid="artifacts">
          <h4>Artifacts</h4>
          {step.artifacts.map((x, i) => <ArtifactView key={`${x.artifact.path}-${i}`} artifact={x.artifact} label={x.role} />)}
        </div>
      )}
      <LazyDetails className="raw" summary="attempt as folded from the trace (JSON)"><RawStep step={step} /></LazyDetails>
    </section>
  );
});

/** A <details> whose content is rendered only while open. */
function LazyDetails({ summary, className, children }: { summary: string; className?: string; children: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <details className={className} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{summary}</summary>
      {open && children}
    </details>
  );
}

function RawStep({ step }: { step: Step }) {
  return <TextBlock text={json(step)} className="json" />;
}

const TAB_LIMIT = 12;

/** Attempt picker: tabs for a few attempts; for many (a long loop), a window of tabs around the selected one. */
function AttemptPicker({ attempts, at, nodeId }: { attempts: NodeAttempts; at: number; nodeId: string }) {
  const store = useStore();
  const pick = (k: number) => store.setState({ node: nodeId, attempt: attempts.at(k).attemptId });
  const from = attempts.length <= TAB_LIMIT ? 0 : Math.max(0, Math.min(at - 4, attempts.length - 9));
  const to = attempts.length <= TAB_LIMIT ? attempts.length : Math.min(attempts.length, from + 9);
  const shown: number[] = [];
  for (let k = from; k < to; k++) shown.push(k);
  return (
    <div className="attempt-tabs" role="tablist">
      {attempts.length > TAB_LIMIT && (
        <>
          <button type="button" disabled={at <= 0} onClick={() => pick(0)} title="first attempt">|◀</button>
          <button type="button" disabled={at <= 0} onClick={() => pick(at - 1)} title="previous attempt">◀</button>
        </>
      )}
      {shown.map((k) => {
        const a = attempts.at(k);
        return (
          <button type="button" key={a.attemptId} role="tab" aria-selected={k === at}
            className={`attempt-tab status-${a.status}${k === at ? ' active' : ''}`}
            data-testid={`attempt-tab-${a.attemptId}`}
            onClick={() => pick(k)}>
            #{a.attempt} <span className={`status-dot status-${a.status}`} />
          </button>
        );
      })}
      {attempts.length > TAB_LIMIT && (
        <>
          <button type="button" disabled={at >= attempts.length - 1} onClick={() => pick(at + 1)} title="next attempt">▶</button>
          <button type="button" disabled={at >= attempts.length - 1} onClick={() => pick(attempts.length - 1)} title="latest attempt">▶|</button>
          <span className="muted">{at + 1} of {attempts.length}</span>
        </>
      )}
    </div>
  );
}

export function NodePanel() {
  const store = useStore();
  const model = useView((s) => s.model)!;
  const state = useCursorState();
  const focus = useFocusNode();
  const atEnd = useView((s) => s.cursor >= (s.model?.timeline.length ?? 0));
  if (!focus.nodeId) return <div className="empty">No node yet at this point of the run. Step forward or click a node.</div>;
  const node = graphStructure(model).nodes.find((n) => n.id === focus.nodeId);
  const attempts = attemptsAt(model.timeline, state, focus.nodeId);
  const picked = attempts.indexOf(focus.attemptId);
  const at = picked >= 0 ? picked : attempts.length - 1;
  const step = at >= 0 ? attempts.at(at) : undefined;
  const nodeUsage = state.nodes.get(focus.nodeId)?.usage;
  return (
    <div className="node-panel" data-testid="node-panel" data-node={focus.nodeId}>
      <div className="panel-head">
        <h3><Shown text={node?.title ?? focus.nodeId} /></h3>
        <code className="muted"><Shown text={focus.nodeId} /></code>
        {focus.pinned
          ? <button type="button" onClick={() => store.setState({ node: undefined, attempt: undefined })} title="Follow the cursor again">unpin</button>
          : <span className="muted">(follows the cursor)</span>}
      </div>
      {node?.spec ? <Definition spec={node.spec} /> : <div className="muted">not declared in flow.json</div>}
      {nodeUsage && <div className="node-usage">all attempts: <UsageLine usage={nodeUsage} testId="node-usage" /></div>}
      <h4>Attempts at this point <span className="muted">({attempts.length})</span></h4>
      {attempts.length === 0 && <div className="muted">not started yet</div>}
      {attempts.length > 1 && <AttemptPicker attempts={attempts} at={at} nodeId={focus.nodeId} />}
      {step && <AttemptView step={step} timeline={model.timeline}
        abandoned={step.status === 'running' && atEnd && !model.loading && (model.complete || !model.live)} />}
    </div>
  );
}
