// The compare route: loads both bundles and their diff (open-compare.ts), then shows the compare page.
import { lazy, Suspense, useEffect, useState } from 'react';
import type { CompareInfo, ServerInfo } from '../backend/http.ts';
import { Shown } from '../ui/Shown.tsx';
import type { OpenedCompare } from './open-compare.ts';

// The compare page's code (the diff engine, the compare views, zip reading) is its own chunk: opening one bundle
// does not load or evaluate it.
const CompareView = lazy(() => import('../ui/CompareView.tsx').then((m) => ({ default: m.CompareView })));

/** `?compare=<run>&with=<run>`: two runs of a runs-root picked in the run list. */
export function comparePair(search: string = location.search): [string, string] | undefined {
  const q = new URLSearchParams(search);
  const a = q.get('compare');
  const b = q.get('with');
  return a !== null && b !== null ? [a, b] : undefined;
}

/**
 * The compare page's sides as the address bar names them: `flowtape view a b` serves runs `a` and `b`, and
 * `?compare=b&with=a` shows them the other way round (as `flowtape diff b a`); any other pair is ignored.
 */
export function orientCompare(info: CompareInfo, pair: [string, string] | undefined): CompareInfo {
  return pair && pair[0] === info.b.run && pair[1] === info.a.run ? { ...info, a: info.b, b: info.a } : info;
}

/** Two runs of the served runs-root, named and normalised as `flowtape diff <root>/<a> <root>/<b>` would. */
export function runsCompareInfo(info: ServerInfo, a: string, b: string): CompareInfo {
  const side = (run: string) => ({ run, kind: 'dir' as const, location: run, ...(info.root ? { dir: `${info.root.replace(/\/+$/, '')}/${run}` } : {}) });
  return { a: side(a), b: side(b), machine: info.machine ?? {}, options: {} };
}

type State = { status: 'loading'; stage: string } | { status: 'ok'; opened: OpenedCompare } | { status: 'error'; message: string };

export function OpenCompare({ info, backHref }: { info: CompareInfo; backHref?: string }) {
  const [state, setState] = useState<State>({ status: 'loading', stage: 'opening both bundles' });
  useEffect(() => {
    let alive = true;
    import('./open-compare.ts').then(({ openCompare }) => openCompare(info, (stage) => { if (alive) setState({ status: 'loading', stage }); })).then(
      (opened) => { if (alive) setState({ status: 'ok', opened }); },
      (err: unknown) => { if (alive) setState({ status: 'error', message: (err as Error).message }); },
    );
    return () => { alive = false; };
  }, [info]);
  if (state.status === 'loading') {
    return <div className="center-message" data-testid="loading">Comparing <Shown text={`${info.a.location} and ${info.b.location}`} />: {state.stage}…</div>;
  }
  if (state.status === 'error') {
    return (
      <div className="center-message" data-testid="load-error" role="alert">
        <div className="error-text"><Shown text={state.message} /></div>
        <p className="muted">Check each side with <code>flowtape verify &lt;bundle&gt;</code> (it names the file and line of every problem);
          {' '}<code>flowtape diff <Shown text={`${info.a.location} ${info.b.location}`} /></code> compares them in the terminal.</p>
      </div>
    );
  }
  return (
    <Suspense fallback={<div className="center-message" data-testid="loading">Comparing <Shown text={`${info.a.location} and ${info.b.location}`} />…</div>}>
      <CompareView model={state.opened.model} resources={state.opened.resources} backHref={backHref} pair={[info.a.run, info.b.run]} />
    </Suspense>
  );
}
