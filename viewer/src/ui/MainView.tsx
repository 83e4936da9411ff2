// The main area of a bundle: the flow graph or the duration view (waterfall), switched by two buttons.
import { useState } from 'react';
import { Graph } from './Graph.tsx';
import { Waterfall } from './Waterfall.tsx';
import '../waterfall.css';

export type MainKind = 'graph' | 'waterfall';

export function MainView() {
  const [kind, setKind] = useState<MainKind>(() => (new URLSearchParams(location.search).get('view') === 'waterfall' ? 'waterfall' : 'graph'));
  const choose = (next: MainKind) => {
    setKind(next);
    // Kept in the URL with the rest of the view (open-bundle.ts keeps the other parameters).
    const q = new URLSearchParams(location.search);
    if (next === 'graph') {
      q.delete('view');
      q.delete('wf'); // the waterfall's zoom goes with it
    } else {
      q.set('view', next);
    }
    history.replaceState(history.state, '', `${location.pathname}?${q.toString()}${location.hash}`);
  };
  return (
    <div className="main-view" data-testid="main-view" data-view={kind}>
      <div className="view-switch" role="group" aria-label="main view">
        <button type="button" aria-pressed={kind === 'graph'} data-testid="view-graph" onClick={() => choose('graph')}>graph</button>
        <button type="button" aria-pressed={kind === 'waterfall'} data-testid="view-waterfall" onClick={() => choose('waterfall')}>waterfall</button>
      </div>
      {kind === 'graph' ? <Graph /> : <Waterfall />}
    </div>
  );
}
