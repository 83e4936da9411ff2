// The compare route: loads both bundles and their diff (open-compare.ts), then shows the compare page.
import { useEffect, useState } from 'react';
import type { CompareInfo } from '../backend/http.ts';
import { CompareView } from '../ui/CompareView.tsx';
import { Shown } from '../ui/Shown.tsx';
import { openCompare, type OpenedCompare } from './open-compare.ts';

type State = { status: 'loading'; stage: string } | { status: 'ok'; opened: OpenedCompare } | { status: 'error'; message: string };

export function OpenCompare({ info }: { info: CompareInfo }) {
  const [state, setState] = useState<State>({ status: 'loading', stage: 'opening both bundles' });
  useEffect(() => {
    let alive = true;
    openCompare(info, (stage) => { if (alive) setState({ status: 'loading', stage }); }).then(
      (opened) => { if (alive) setState({ status: 'ok', opened }); },
      (err: unknown) => { if (alive) setState({ status: 'error', message: (err as Error).message }); },
    );
    return () => { alive = false; };
  }, [info]);
  if (state.status === 'loading') {
    return <div className="center-message" data-testid="loading">Comparing <Shown text={`${info.a.location} and ${info.b.location}`} />: {state.stage}…</div>;
  }
  if (state.status === 'error') {
    return <div className="center-message error-text" data-testid="load-error" role="alert"><Shown text={state.message} /></div>;
  }
  return <CompareView model={state.opened.model} resources={state.opened.resources} />;
}
