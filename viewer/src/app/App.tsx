// Decides what to show: the bundle served by `flowtape view`, a run list (runs-root or a dropped folder with
// several bundles), or the landing page; a folder or .zip dropped anywhere replaces what is open.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { BundleBackend, BundleSource } from '../backend/types.ts';
import { HttpBackend, fetchServedZip, type CompareInfo } from '../backend/http.ts';
import { earlyBackend, takeServerInfo } from './early-load.ts';
import { sourceFromDrop, sourceFromFileList } from '../backend/files.ts';
import { StaticBackend, fetchSiteIndex, siteIndexUrl } from '../backend/static.ts';
import { siteRunSummary } from './site-runs.ts';
import { createViewStore } from '../model/store.ts';
import { StoreProvider } from '../ui/store-context.tsx';
import { ResourcesProvider } from '../ui/resources.tsx';
import { BundleView } from '../ui/BundleView.tsx';
import { NoRunsYet, RunList } from '../ui/RunList.tsx';
import { Landing } from '../ui/Landing.tsx';
import { KeyboardHelp } from '../ui/KeyboardHelp.tsx';
import type { RunSummary } from '../../server/summary.ts';
import { openBundle, readDeepLink, resourcesFor, syncUrl } from './open-bundle.ts';
import { OpenCompare, comparePair, orientCompare, runsCompareInfo } from './OpenCompare.tsx';

type Route =
  | { kind: 'starting' }
  | { kind: 'landing'; message?: string }
  | { kind: 'runs'; title: string; root: string; runs: RunSummary[]; /** A static site's list: relative links, nothing to refresh or compare. */ static?: boolean }
  | { kind: 'local-runs'; source: BundleSource }
  | { kind: 'bundle'; backend: BundleBackend; run?: string; backHref?: string }
  | { kind: 'compare'; info: CompareInfo; backHref?: string };

function OpenBundle({ backend, run, backHref }: { backend: BundleBackend; run?: string; backHref?: string }) {
  const store = useMemo(() => createViewStore(), [backend]);
  const resources = useMemo(() => resourcesFor(backend), [backend]);
  useEffect(() => {
    const stop = openBundle(backend, store, readDeepLink());
    const unsync = syncUrl(store, run);
    return () => { stop(); unsync(); };
  }, [backend, store, run]);
  return (
    <StoreProvider store={store}>
      <ResourcesProvider resources={resources}>
        <BundleView backHref={backHref} />
      </ResourcesProvider>
    </StoreProvider>
  );
}

async function fetchRuns(): Promise<RunSummary[]> {
  const res = await fetch('/api/runs', { cache: 'no-store' });
  if (!res.ok) throw new Error(`run list: HTTP ${res.status}`);
  return ((await res.json()) as { runs: RunSummary[] }).runs;
}

function routeForSource(source: BundleSource): Route {
  // A folder without any manifest.json is still opened: the viewer shows what it can read and says what is missing.
  if (source.bundles.length <= 1) return { kind: 'bundle', backend: source.open(source.bundles[0] ?? '') };
  return { kind: 'local-runs', source };
}

export function App() {
  const [route, setRoute] = useState<Route>({ kind: 'starting' });
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    (async () => {
      const link = readDeepLink();
      // A static site (`flowtape view --static`): no server to ask, the site index says what was published.
      const site = siteIndexUrl();
      if (site) {
        const index = await fetchSiteIndex(site);
        const one = index.bundles.length === 1 ? index.bundles[0] : index.bundles.find((b) => b.id === link.run);
        if (one) return setRoute({ kind: 'bundle', backend: new StaticBackend(site, one), ...(index.bundles.length > 1 ? { run: one.id, backHref: './' } : {}) });
        return setRoute({ kind: 'runs', title: index.name, root: index.name, runs: index.bundles.map(siteRunSummary), static: true });
      }
      const info = await takeServerInfo();
      if (!info) return setRoute({ kind: 'landing' });
      if (info.mode === 'compare' && info.compare) return setRoute({ kind: 'compare', info: orientCompare(info.compare, comparePair()) });
      if (info.mode === 'bundle') return setRoute({ kind: 'bundle', backend: earlyBackend('') ?? new HttpBackend('', info.name) });
      if (info.mode === 'zip') {
        const [{ zipSource }, bytes] = await Promise.all([import('../backend/zip.ts'), fetchServedZip()]);
        const source = await zipSource(info.name, bytes);
        return setRoute(routeForSource(source));
      }
      const pair = comparePair();
      if (info.mode === 'runs' && pair) return setRoute({ kind: 'compare', info: runsCompareInfo(info, pair[0], pair[1]), backHref: '/' });
      if (link.run !== undefined) return setRoute({ kind: 'bundle', backend: earlyBackend(link.run) ?? new HttpBackend(link.run), run: link.run, backHref: '/' });
      setRoute({ kind: 'runs', title: info.name, root: info.root ?? info.name, runs: await fetchRuns() });
    })().catch((err: unknown) => setRoute({ kind: 'landing', message: (err as Error).message }));
  }, []);

  const openSource = useCallback(async (make: () => Promise<BundleSource | undefined>) => {
    try {
      const source = await make();
      if (!source) return setRoute({ kind: 'landing', message: 'Drop a bundle folder or a .zip file.' });
      history.replaceState(null, '', location.pathname);
      setRoute(routeForSource(source));
    } catch (err) {
      setRoute({ kind: 'landing', message: (err as Error).message });
    }
  }, []);

  useEffect(() => {
    const over = (e: DragEvent) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      setDragging(true);
    };
    const leave = (e: DragEvent) => { if (e.relatedTarget === null) setDragging(false); };
    const drop = (e: DragEvent) => {
      if (!e.dataTransfer) return;
      e.preventDefault();
      setDragging(false);
      const data = e.dataTransfer;
      void openSource(() => sourceFromDrop(data));
    };
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [openSource]);

  let body;
  switch (route.kind) {
    case 'starting':
      body = <div className="center-message">Starting…</div>;
      break;
    case 'landing':
      body = <Landing message={route.message} onFiles={(files) => void openSource(() => sourceFromFileList(files))} />;
      break;
    case 'runs':
      body = (
        <RunList
          title={route.title}
          runs={route.runs}
          hrefOf={(r) => `${route.static ? '' : '/'}?run=${encodeURIComponent(r.id)}`}
          compareHref={route.static ? undefined : (a, b) => `/?compare=${encodeURIComponent(a.id)}&with=${encodeURIComponent(b.id)}`}
          onRefresh={route.static ? undefined : () => {
            const { title, root } = route;
            fetchRuns().then((runs) => setRoute({ kind: 'runs', title, root, runs }), (err: unknown) => setRoute({ kind: 'landing', message: (err as Error).message }));
          }}
          empty={<NoRunsYet root={route.root} />}
        />
      );
      break;
    case 'local-runs':
      body = (
        <RunList
          title={route.source.label}
          runs={route.source.bundles.map((id) => ({ id }))}
          onOpen={(r) => setRoute({ kind: 'bundle', backend: route.source.open(r.id) })}
        />
      );
      break;
    case 'compare':
      body = <OpenCompare info={route.info} backHref={route.backHref} />;
      break;
    case 'bundle':
      body = <OpenBundle key={route.backend.label} backend={route.backend} run={route.run} backHref={route.backHref} />;
      break;
  }
  return (
    <div className={`app${dragging ? ' dragging' : ''}`} data-testid="app">
      {body}
      <KeyboardHelp />
      {dragging && <div className="drop-overlay">Drop a bundle folder or .zip to open it</div>}
    </div>
  );
}
