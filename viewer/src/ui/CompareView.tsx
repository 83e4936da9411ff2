// The compare page: two runs, the differences `flowtape diff` reports (same engine, same order, same words), the
// graph with both paths, and the selected attempt side by side. A difference selects its attempt; the pair, the
// attempt and the difference picked are kept in the URL (`?compare=&with=&attempt=&line=`) so a view can be shared.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { tokenTotal } from '@flowtape/schema';
import { SECTIONS } from '@flowtape/schema/diff';
import { delta, type CompareModel, type DiffLine, type SideName } from '../model/compare.ts';
import type { Resources } from './resources.tsx';
import { CompareGraph } from './CompareGraph.tsx';
import { AttemptCompare } from './AttemptCompare.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { HelpButton } from './KeyboardHelp.tsx';
import { Shown } from './Shown.tsx';
import { formatDuration } from './format.ts';
import { usageText } from './usage-text.ts';
import '../compare.css';

function verdict(model: CompareModel): string {
  const r = model.result;
  const counts = SECTIONS.filter((s) => r.counts[s] > 0 && (s !== 'usage' || r.usageCounted)).map((s) => `${s} ${r.counts[s]}`).join(', ');
  const usage = r.counts.usage > 0 && !r.usageCounted ? `${r.counts.usage} usage difference${r.counts.usage === 1 ? '' : 's'} (tokens, cost), not counted as behaviour` : undefined;
  if (r.same) return usage ? `no differences in behaviour; ${usage}` : 'no differences';
  return `${r.total} difference${r.total === 1 ? '' : 's'}: ${counts}${usage ? `; and ${usage}` : ''}`;
}

function SideHeader({ model, which }: { model: CompareModel; which: SideName }) {
  const side = model.result[which];
  const final = model[which].timeline.final;
  return (
    <div className={`cmp-side-head side-${which}`} data-testid={`side-${which}`}>
      <b>{which}</b> <code><Shown text={side.location} /></code>{' '}
      <span className="muted">run <Shown text={side.runId} /></span>{' '}
      <span className={`run-status status-${side.status}`} data-testid={`side-${which}-status`}><Shown text={side.status} /></span>{' '}
      <span className="muted">{side.events} events · {side.attempts} attempts · took {formatDuration(final.durationMs)}</span>{' '}
      <span className="muted usage"><Shown text={usageText(final.usage) ?? ''} /></span>
    </div>
  );
}

function Deltas({ model }: { model: CompareModel }) {
  const fa = model.a.timeline.final;
  const fb = model.b.timeline.final;
  const d = delta(fa.durationMs, fb.durationMs);
  const t = delta(tokenTotal(fa.usage?.tokens), tokenTotal(fb.usage?.tokens));
  const cost = (which: typeof fa) => which.usage?.cost?.map((c) => `${c.amount} ${c.currency}`).join(', ');
  return (
    <div className="cmp-deltas muted" data-testid="run-deltas">
      b − a: duration <b data-testid="delta-duration">{d === undefined ? '—' : `${d >= 0 ? '+' : '−'}${formatDuration(Math.abs(d))}`}</b>
      {' · '}tokens <b data-testid="delta-tokens">{t === undefined ? '—' : `${t >= 0 ? '+' : '−'}${Math.abs(t).toLocaleString('en-US')}`}</b>
      {(cost(fa) || cost(fb)) && <> · cost <Shown text={`${cost(fa) ?? '—'} → ${cost(fb) ?? '—'}`} /></>}
    </div>
  );
}

function DiffList({ model, selectedLine, onPick }: { model: CompareModel; selectedLine?: number; onPick: (line: DiffLine) => void }) {
  const r = model.result;
  return (
    <div className="diff-list" data-testid="diff-list" data-total={r.total}>
      <div className="diff-verdict" data-testid="diff-verdict"><Shown text={verdict(model)} /></div>
      {model.groups.map((group) => (
        <section key={group.title} className="diff-group" data-testid="diff-group">
          <h4 data-testid="diff-group-title"><Shown text={group.title} /></h4>
          <ul>
            {group.lines.map((line) => (
              <li key={line.index}>
                <button type="button"
                  className={`diff-line kind-${line.difference.kind} section-${line.difference.section}${selectedLine === line.index ? ' selected' : ''}`}
                  data-testid="diff-line" data-index={line.index} data-path={line.difference.path} data-kind={line.difference.kind}
                  data-section={line.difference.section} data-target={line.target ?? ''}
                  disabled={line.target === undefined} onClick={() => onPick(line)}>
                  <Shown text={line.text} />
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {r.omitted > 0 && <div className="muted">… {r.omitted} more differences not shown (raise --max-details)</div>}
      {r.warnings.slice(0, 20).map((w, i) => <div key={i} className="issue warning" data-testid="diff-warning"><Shown text={`warning: ${w}`} /></div>)}
    </div>
  );
}

function readParam(name: string): string | undefined {
  return new URLSearchParams(location.search).get(name) ?? undefined;
}

/** The URL of this page with the sides swapped: the same attempt stays selected (the lines are numbered anew). */
function swappedHref(pair: [string, string], attempt: string | undefined): string {
  const q = new URLSearchParams(location.search);
  q.set('compare', pair[1]);
  q.set('with', pair[0]);
  q.delete('line');
  if (attempt) q.set('attempt', attempt);
  return `${location.pathname}?${q.toString()}`;
}

export function CompareView({ model, resources, backHref, pair }: { model: CompareModel; resources: Record<SideName, Resources>; backHref?: string; pair: [string, string] }) {
  const [selected, setSelected] = useState<string | undefined>(() => {
    const lines = model.groups.flatMap((g) => g.lines);
    // The first attempt the report names in its own group, else the first any line points at.
    return readParam('attempt') ?? lines.find((l) => l.difference.attemptId)?.target ?? lines.find((l) => l.target)?.target;
  });
  const [selectedLine, setSelectedLine] = useState<number | undefined>(() => {
    const line = Number(readParam('line'));
    return Number.isInteger(line) && line >= 0 ? line : undefined;
  });
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    q.set('compare', pair[0]);
    q.set('with', pair[1]);
    if (selected) q.set('attempt', selected);
    else q.delete('attempt');
    if (selectedLine !== undefined) q.set('line', String(selectedLine));
    else q.delete('line');
    const url = `${location.pathname}?${q.toString()}`;
    if (url !== `${location.pathname}${location.search}`) history.replaceState(history.state, '', url);
  }, [selected, selectedLine, pair]);
  const pick = useCallback((line: DiffLine) => {
    setSelectedLine(line.index);
    if (line.target) setSelected(line.target);
  }, []);
  const selectAttempt = useCallback((id: string) => { setSelected(id); setSelectedLine(undefined); }, []);
  const lines = useMemo(
    () => model.groups.flatMap((g) => g.lines).filter((l) => selected !== undefined && l.target === selected),
    [model, selected],
  );
  useEffect(() => {
    if (performance.getEntriesByName('flowtape:compare-ready').length === 0) performance.mark('flowtape:compare-ready');
  }, []);
  return (
    <div className="compare" data-testid="compare" data-ready="true" data-same={model.result.same ? 'true' : 'false'}>
      <header className="bundle-header cmp-header" data-testid="compare-header">
        {backHref && <a className="back-link" href={backHref} data-testid="back-to-runs">← runs</a>}
        <span className="flow-name"><Shown text={`compare · ${model.result.a.flowName}${model.result.b.flowName !== model.result.a.flowName ? ` ⇄ ${model.result.b.flowName}` : ''}`} /></span>
        <SideHeader model={model} which="a" />
        <SideHeader model={model} which="b" />
        <Deltas model={model} />
        <a className="swap-link" href={swappedHref(pair, selected)} data-testid="swap-sides" title="compare b with a instead">swap a ⇄ b</a>
        <HelpButton />
      </header>
      <div className="cmp-split">
        <ErrorBoundary where="differences" resetKey={model}>
          <DiffList model={model} selectedLine={selectedLine} onPick={pick} />
        </ErrorBoundary>
        <ErrorBoundary where="graph" resetKey={model}>
          <CompareGraph model={model} selected={selected} onSelect={selectAttempt} />
        </ErrorBoundary>
        <aside className="inspector cmp-inspector" data-testid="compare-inspector">
          <ErrorBoundary where="attempt" resetKey={selected}>
            {selected
              ? <AttemptCompare model={model} attemptId={selected} lines={lines} resources={resources} onPick={pick} />
              : <div className="empty">Pick a difference or a node to compare its attempt in both runs.</div>}
          </ErrorBoundary>
        </aside>
      </div>
    </div>
  );
}
