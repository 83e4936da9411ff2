// One attempt in both runs: status, duration and usage with their deltas, the differences the diff found for it,
// outputs and errors side by side with the changed fields marked, the edge taken, and the attempt's part of its
// session's conversation aligned turn by turn.
import type { ReactNode } from 'react';
import { tokenTotal, type Step, type ValueRef } from '@flowtape/schema';
import { pointer } from '@flowtape/schema/diff';
import { delta, stepOf, type CompareModel, type DiffLine, type SideName } from '../model/compare.ts';
import { ResourcesProvider, type Resources } from './resources.tsx';
import { ConversationCompare } from './ConversationCompare.tsx';
import { JsonCompare } from './JsonCompare.tsx';
import { ValueView } from './ValueView.tsx';
import { Shown } from './Shown.tsx';
import { formatDuration } from './format.ts';
import { usageText } from './usage-text.ts';

function signed(n: number | undefined, show: (n: number) => string): string {
  if (n === undefined || n === 0) return n === 0 ? '±0' : '';
  return `${n > 0 ? '+' : '−'}${show(Math.abs(n))}`;
}

function Row({ label, a, b, change, testId }: { label: string; a: ReactNode; b: ReactNode; change?: string; testId: string }) {
  return (
    <tr data-testid={testId}>
      <th>{label}</th>
      <td className="side-a">{a}</td>
      <td className="side-b">{b}</td>
      <td className="delta" data-testid={`${testId}-delta`}>{change}</td>
    </tr>
  );
}

/** An inline value, or undefined when it is an artifact (shown with its viewer instead). */
function inline(ref: ValueRef | undefined): { value: unknown } | undefined {
  if (ref === undefined) return { value: undefined };
  return 'inline' in ref ? { value: ref.inline } : undefined;
}

function ValuePair({ model, a, b, testId, resources }: { model: CompareModel; a: ValueRef | undefined; b: ValueRef | undefined; testId: string; resources: Record<SideName, Resources> }) {
  const ia = inline(a);
  const ib = inline(b);
  // Shown as the diff compares them, so a field marked changed here is one the list reports.
  if (ia && ib) return <JsonCompare a={model.normalize.a(ia.value)} b={model.normalize.b(ib.value)} testId={testId} />;
  return (
    <div className="jcompare" data-testid={testId}>
      <div className="jcell side-a"><ResourcesProvider resources={resources.a}><ValueView value={a} /></ResourcesProvider>{!a && <span className="muted">(absent)</span>}</div>
      <div className="jcell side-b"><ResourcesProvider resources={resources.b}><ValueView value={b} /></ResourcesProvider>{!b && <span className="muted">(absent)</span>}</div>
    </div>
  );
}

/** The fields of an error the diff compares (a stack changes with every build; the node tab shows it). */
function errorFields(error: Step['error']): unknown {
  if (!error) return undefined;
  return { message: error.message, ...(error.code ? { code: error.code } : {}), ...(error.name ? { name: error.name } : {}) };
}

function tokens(step: Step | undefined): number | undefined {
  return step?.usage?.tokens ? tokenTotal(step.usage.tokens) : undefined;
}

export function AttemptCompare({ model, attemptId, lines, resources, onPick }: {
  model: CompareModel;
  attemptId: string;
  /** The difference lines about this attempt. */
  lines: DiffLine[];
  resources: Record<SideName, Resources>;
  onPick: (line: DiffLine) => void;
}) {
  const sa = stepOf(model.a, attemptId);
  const sb = stepOf(model.b, attemptId);
  const sessionA = sa?.sessionId;
  const sessionB = sb?.sessionId;
  const keyA = sessionA ? model.sessionKeys.a.get(sessionA) : undefined;
  const keyB = sessionB ? model.sessionKeys.b.get(sessionB) : undefined;
  const sessionKey = keyA ?? keyB;
  const infoOf = (which: SideName, id: string | undefined) => (id ? model[which].sessions.find((s) => s.sessionId === id) : undefined);
  return (
    <div className="attempt-compare" data-testid="attempt-compare" data-attempt={attemptId}>
      <h3><Shown text={`attempt ${attemptId}`} /></h3>
      <table className="cmp-table">
        <thead><tr><th /><th>a</th><th>b</th><th>b − a</th></tr></thead>
        <tbody>
          <Row testId="cmp-status" label="status" a={<Shown text={sa?.status ?? 'not run'} />} b={<Shown text={sb?.status ?? 'not run'} />} change={sa?.status !== sb?.status ? 'changed' : ''} />
          <Row testId="cmp-duration" label="duration" a={formatDuration(sa?.durationMs)} b={formatDuration(sb?.durationMs)}
            change={signed(delta(sa?.durationMs, sb?.durationMs), (n) => formatDuration(n))} />
          <Row testId="cmp-usage" label="usage" a={<Shown text={usageText(sa?.usage) ?? '—'} />} b={<Shown text={usageText(sb?.usage) ?? '—'} />}
            change={signed(delta(tokens(sa), tokens(sb)), (n) => `${n.toLocaleString('en-US')} tokens`)} />
          <Row testId="cmp-next" label="next" a={<Shown text={sa?.next ? `→ ${sa.next.to}${sa.next.branch?.caseKey ? ` (${sa.next.branch.caseKey})` : ''}` : '—'} />}
            b={<Shown text={sb?.next ? `→ ${sb.next.to}${sb.next.branch?.caseKey ? ` (${sb.next.branch.caseKey})` : ''}` : '—'} />}
            change={sa?.next?.to !== sb?.next?.to ? 'changed' : ''} />
        </tbody>
      </table>
      {lines.length > 0 && (
        <ul className="attempt-diff-lines" data-testid="attempt-diff-lines">
          {lines.map((l) => (
            <li key={l.index}><button type="button" className="link" onClick={() => onPick(l)}><code><Shown text={l.text} /></code></button></li>
          ))}
        </ul>
      )}
      <h4>output <span className="muted">(as the diff compares it: this run's paths, ids and times replaced)</span></h4>
      <ValuePair model={model} a={sa?.output} b={sb?.output} testId="cmp-output" resources={resources} />
      {(sa?.error || sb?.error) && (
        <>
          <h4>error</h4>
          <JsonCompare a={model.normalize.a(errorFields(sa?.error))} b={model.normalize.b(errorFields(sb?.error))} testId="cmp-error" />
        </>
      )}
      {sessionKey && (
        <>
          <h4>conversation <span className="muted">(session <Shown text={sessionKey} />, this attempt's turns)</span></h4>
          <ConversationCompare
            sessionKey={sessionKey}
            info={{ a: infoOf('a', sessionA), b: infoOf('b', sessionB) }}
            resources={resources}
            differences={model.result.differences.filter((d) => d.path.startsWith(pointer('sessions', sessionKey)))}
            attemptId={attemptId}
            normalize={model.normalize}
          />
        </>
      )}
    </div>
  );
}
