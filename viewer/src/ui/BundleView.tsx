// One open bundle: header, problems, timeline, graph and inspector.
import { lazy, Suspense, useEffect, useState } from 'react';
import { useStore, useView } from './store-context.tsx';
import { MainView } from './MainView.tsx';
import { Timeline, useTimelineKeys } from './Timeline.tsx';
import { NodePanel } from './NodePanel.tsx';
import { EventsPanel } from './EventsPanel.tsx';
import { useCursorState } from './hooks.ts';
import { formatCount, formatDuration, formatTime } from './format.ts';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { Shown } from './Shown.tsx';
import type { Tab } from '../model/store.ts';
import { UsageLine } from './UsageView.tsx';
import { ReplayBadge } from './ReplayBadge.tsx';
import { HelpButton } from './KeyboardHelp.tsx';

// The session tab (markdown, syntax highlighting, text diffs) is its own chunk, so the app evaluates less before
// it shows a bundle; it is fetched once the bundle is on screen (loadSessionPanel), or when the tab is opened.
const loadSessionPanel = () => import('./SessionPanel.tsx');
const SessionPanel = lazy(() => loadSessionPanel().then((m) => ({ default: m.SessionPanel })));

function Header({ backHref }: { backHref?: string }) {
  const model = useView((s) => s.model)!;
  const state = useCursorState();
  const final = model.timeline.final;
  const m = model.manifest;
  const runStatus = m?.status ?? final.status;
  return (
    <header className="bundle-header" data-testid="bundle-header">
      {backHref && <a className="back-link" href={backHref} data-testid="back-to-runs">← runs</a>}
      <span className="flow-name" data-testid="flow-name"><Shown text={m?.flowName ?? model.flow?.name ?? final.flowName ?? '(unknown flow)'} /></span>
      <code className="run-id" data-testid="run-id"><Shown text={m?.runId ?? final.runId ?? model.label} /></code>
      <span className={`run-status status-${runStatus}`} data-testid="run-status" title="status of the run (whole bundle)"><Shown text={runStatus} /></span>
      <ReplayBadge replayOf={m?.replayOf} />
      <span className="muted">started {formatTime(m?.createdAt ?? final.startedAt)}</span>
      {final.durationMs !== undefined && <span className="muted">took {formatDuration(final.durationMs)}</span>}
      <UsageLine usage={final.usage} testId="run-usage" className="muted usage" />
      <span className="at-cursor" data-testid="status-at-cursor">at cursor: <b className={`status-text status-${state.status}`}>{state.status}</b></span>
      <span className="spacer" />
      {model.loading && (
        <span className="live-badge live" data-testid="loading-badge">reading trace… {formatCount(model.timeline.length)} events</span>
      )}
      {model.live && !model.loading && (
        <span className={`live-badge ${model.complete ? 'complete' : 'live'}`} data-testid="live-badge" data-complete={model.complete ? 'true' : 'false'}>
          {/* A writer makes manifest.json before its first line: a trace without one is no bundle being written. */}
          {model.complete ? 'run complete' : m ? '● live — being written' : 'no manifest.json: damaged, not being written (flowtape repair rebuilds it)'}
        </span>
      )}
      {!model.live && <span className="muted" data-testid="source-label"><Shown text={model.label} /></span>}
      <HelpButton />
    </header>
  );
}

function Issues() {
  const issues = useView((s) => s.model?.issues) ?? [];
  const [open, setOpen] = useState(false);
  if (issues.length === 0) return null;
  const errors = issues.filter((i) => i.severity === 'error').length;
  const first = issues[0]!;
  return (
    <div className={`issues ${errors > 0 ? 'has-errors' : 'warnings'}`} data-testid="issues" data-count={issues.length} role="status">
      <div className="issues-head">
        <span>⚠ {issues.length} problem{issues.length === 1 ? '' : 's'} reading this bundle — showing what could be read. <span className="muted"><code>flowtape verify</code> checks it; <code>flowtape repair</code> fixes what a writer that died left.</span></span>
        <span className="first-issue" data-testid="first-issue"><Shown text={first.message} /></span>
        {issues.length > 1 && <button type="button" onClick={() => setOpen(!open)}>{open ? 'hide' : 'show all'}</button>}
      </div>
      {open && <ul>{issues.map((i, n) => <li key={n} className={i.severity} data-testid="issue"><Shown text={i.message} /></li>)}</ul>}
    </div>
  );
}

function Inspector() {
  const store = useStore();
  const tab = useView((s) => s.tab);
  const resetKey = useView((s) => `${s.model?.version}:${s.cursor}:${s.node}:${s.attempt}:${s.session}`);
  const tabs: Array<[Tab, string]> = [['node', 'Node'], ['session', 'Session'], ['events', 'Events']];
  return (
    <aside className="inspector" data-testid="inspector">
      <div className="tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <button key={id} type="button" role="tab" aria-selected={tab === id} className={tab === id ? 'active' : ''}
            data-testid={`tab-${id}`} onClick={() => store.setState({ tab: id })}>{label}</button>
        ))}
      </div>
      <div className="tab-body">
        <ErrorBoundary where={`${tab} tab`} resetKey={resetKey}>
          {tab === 'node' && <NodePanel />}
          {tab === 'session' && <Suspense fallback={<div className="muted">Loading…</div>}><SessionPanel /></Suspense>}
          {tab === 'events' && <EventsPanel />}
        </ErrorBoundary>
      </div>
    </aside>
  );
}

export function BundleView({ backHref }: { backHref?: string }) {
  useTimelineKeys();
  const model = useView((s) => s.model);
  const loading = useView((s) => s.loading);
  const loadError = useView((s) => s.loadError);
  const hasModel = model !== undefined;
  const fullyLoaded = model !== undefined && !model.loading;
  useEffect(() => {
    // For the benchmark (scripts/bench-viewer.ts): the first commit showing the bundle, and the first showing all of it.
    if (hasModel && performance.getEntriesByName('flowtape:ready').length === 0) performance.mark('flowtape:ready');
    if (fullyLoaded && performance.getEntriesByName('flowtape:loaded').length === 0) performance.mark('flowtape:loaded');
    if (fullyLoaded) void loadSessionPanel();
  }, [hasModel, fullyLoaded]);
  if (loadError) {
    return (
      <div className="center-message" data-testid="load-error" role="alert">
        <div className="error-text"><Shown text={loadError} /></div>
        <p className="muted">The viewer could not read the bundle from where it is served. Is <code>flowtape view</code> still running?
          Start it again and reload this page; <code>flowtape verify &lt;bundle&gt;</code> checks the bundle itself.</p>
      </div>
    );
  }
  if (!model) {
    return (
      <div className="center-message" data-testid="loading">
        Loading <Shown text={loading?.label ?? 'bundle'} />… {loading && loading.events > 0 ? `${formatCount(loading.events)} events read` : ''}
      </div>
    );
  }
  if (model.fatal) {
    return (
      <div className="bundle fatal" data-testid="bundle" data-ready="true">
        <div className="center-message" role="alert">
          <div className="error-text" data-testid="fatal-error"><Shown text={model.fatal} /></div>
          <div className="muted"><Shown text={model.label} /></div>
          <p className="muted" data-testid="fatal-hint">
            <code>flowtape verify <Shown text={model.label} /></code> lists every problem with its file and line;
            {' '}<code>flowtape repair <Shown text={model.label} /></code> rebuilds what a writer that died left unfinished.
            {' '}A bundle from a newer flowtape needs that version's viewer.
          </p>
        </div>
      </div>
    );
  }
  return (
    <div className="bundle" data-testid="bundle" data-ready="true" data-loading={model.loading ? 'true' : 'false'}>
      <Header backHref={backHref} />
      <Issues />
      <ErrorBoundary where="timeline" resetKey={model}>
        <Timeline />
      </ErrorBoundary>
      <div className="main-split">
        <ErrorBoundary where="graph" resetKey={model}>
          <MainView />
        </ErrorBoundary>
        <Inspector />
      </div>
    </div>
  );
}
