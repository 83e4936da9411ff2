// Async resources (session files, artifacts) the UI asks for by key. The app glue provides the loaders (from
// the model layer); components only see results. Results are cached per key; a live update changes the key.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import type { ArtifactRef } from '@flowtape/schema';
import type { SessionInfo } from '../model/bundle-model.ts';
import type { ArtifactContent, SessionData } from '../model/sessions.ts';

export interface Resources {
  session(info: SessionInfo, version: number): Promise<SessionData>;
  artifact(ref: ArtifactRef): Promise<ArtifactContent | undefined>;
  /**
   * A URL an `<img>` can load the artifact from, typed `mediaType` (an allowed image type, see message-media.ts):
   * the file as the flowtape server serves it, or a blob URL of its bytes for a dropped folder or zip.
   */
  artifactUrl(ref: ArtifactRef, mediaType: string): Promise<string | undefined>;
}

const ResourcesContext = createContext<Resources | null>(null);

export function ResourcesProvider({ resources, children }: { resources: Resources; children: ReactNode }) {
  return <ResourcesContext.Provider value={resources}>{children}</ResourcesContext.Provider>;
}

export function useResources(): Resources {
  const r = useContext(ResourcesContext);
  if (!r) throw new Error('useResources outside ResourcesProvider');
  return r;
}

export type AsyncState<T> = { status: 'loading' } | { status: 'ok'; value: T } | { status: 'error'; message: string };

const cache = new WeakMap<Resources, Map<string, AsyncState<unknown> | Promise<unknown>>>();

/** Loads `load()` once per (resources, key); re-renders when it settles. `key` undefined = nothing to load. */
export function useAsync<T>(key: string | undefined, load: (r: Resources) => Promise<T>): AsyncState<T> {
  const resources = useResources();
  let map = cache.get(resources);
  if (!map) cache.set(resources, (map = new Map()));
  const entry = key === undefined ? undefined : map.get(key);
  const settled = entry && !(entry instanceof Promise) ? (entry as AsyncState<T>) : undefined;
  const [, rerender] = useState(0);
  useEffect(() => {
    if (key === undefined || settled) return;
    let alive = true;
    let promise = map.get(key) as Promise<T> | undefined;
    if (!(promise instanceof Promise)) {
      promise = load(resources);
      map.set(key, promise);
      promise.then(
        (value) => map.set(key, { status: 'ok', value }),
        (err: unknown) => map.set(key, { status: 'error', message: (err as Error)?.message ?? String(err) }),
      );
    }
    promise.finally(() => { if (alive) rerender((n) => n + 1); }).catch(() => {});
    return () => { alive = false; };
  }, [key, settled, map, resources, load]);
  return settled ?? { status: 'loading' };
}
