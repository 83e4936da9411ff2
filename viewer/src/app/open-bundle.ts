// Glue between a backend, the loader and a view store: loads, applies deep-link parameters, runs full
// validation in the worker, follows a live bundle (the address bar: deep-link.ts).
import type { BundleBackend } from '../backend/types.ts';
import { loadBundle, pollBundle, withValidation, type LoadOptions, type Loaded } from '../model/loader.ts';
import { loadSession, readArtifact } from '../model/sessions.ts';
import { validateDocuments, validateTrace } from '../model/validate-client.ts';
import { takeEarlyLoad } from './early-load.ts';
import { layoutFlowAhead } from '../model/graph-shape.ts';
import { defaultFilters, type Store, type Tab, type ViewState } from '../model/store.ts';
import type { DeepLink } from './deep-link.ts';

export { readDeepLink, syncUrl, type DeepLink } from './deep-link.ts';
import type { Resources } from '../ui/resources.tsx';

export const LIVE_POLL_MS = 400;

export function resourcesFor(backend: BundleBackend): Resources {
  return {
    session: (info) => loadSession(backend, info),
    artifact: (ref) => readArtifact(backend, ref),
    artifactUrl: async (ref, mediaType) => {
      if (backend.urlOf) return backend.urlOf(ref.path);
      const bytes = await backend.read(ref.path);
      return bytes ? URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mediaType })) : undefined;
    },
  };
}

/** The cursor that shows the same event after the timeline changed under it (validation refold). */
function sameSeqCursor(before: ViewState, after: Loaded['model']): number {
  if (!before.model) return after.timeline.length;
  if (before.cursor >= before.model.timeline.length) return after.timeline.length;
  const seq = before.cursor > 0 ? before.model.timeline.events[before.cursor - 1]!.seq : 0;
  return after.timeline.countForSeq(seq);
}

export function openBundle(backend: BundleBackend, store: Store<ViewState>, link: DeepLink): () => void {
  let disposed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  store.setState({ loading: { label: backend.label, events: 0 }, loadError: undefined, model: undefined });

  const validateInBackground = (source: NonNullable<Loaded['tail']['validate']>, fromLine: number) => {
    const file = store.getState().model?.manifest?.files.trace ?? 'trace.ndjson';
    void validateTrace(file, source, fromLine).then((issues) => {
      if (disposed || issues.length === 0) return;
      store.setState((s) => {
        if (!s.model) return {};
        const validated = withValidation(s.model, issues);
        return { model: validated, cursor: sameSeqCursor(s, validated) };
      });
    });
  };

  const follow = async (loaded: Loaded) => {
    let current = loaded;
    const tick = async () => {
      if (disposed) return;
      try {
        // Continue from the model on screen (it may have been refolded after validation).
        const onScreen = store.getState().model;
        if (onScreen) current = { model: onScreen, tail: current.tail };
        const next = await pollBundle(backend, current);
        if (disposed) return;
        if (next) {
          const appended = next.tail.validate;
          next.tail.validate = undefined;
          if (appended) validateInBackground(appended, next.tail.validateFromLine ?? 0);
          current = next;
          store.setState((s) => ({
            model: next.model,
            cursor: s.follow ? next.model.timeline.length : Math.min(s.cursor, next.model.timeline.length),
            follow: s.follow && !next.model.complete,
          }));
        }
      } catch {
        // The server may be restarting or the file mid-rename; try again on the next tick.
      }
      if (!disposed && !current.model.complete) timer = setTimeout(tick, LIVE_POLL_MS);
    };
    timer = setTimeout(tick, LIVE_POLL_MS);
  };

  // Where the cursor goes as the trace streams in: the deep link's seq once it has been read, else the head
  // (followed until the user moves the cursor away).
  let linkPending = link.seq !== undefined;
  const place = (s: ViewState, model: Loaded['model'], final: boolean): Partial<ViewState> => {
    const length = model.timeline.length;
    const first = s.model ? {} : {
      node: link.node, attempt: link.attempt, session: link.session, tab: link.tab ?? ('node' as Tab),
      filters: { ...defaultFilters, ...link.filters },
    };
    if (linkPending && link.seq !== undefined) {
      if ((model.timeline.events.at(-1)?.seq ?? 0) >= link.seq || final) {
        linkPending = false;
        return { ...first, cursor: model.timeline.countForSeq(link.seq), follow: false };
      }
      return { ...first, cursor: length, follow: true };
    }
    if (!s.model) return { ...first, cursor: length, follow: true };
    return { cursor: s.follow ? length : Math.min(s.cursor, length) };
  };

  (async () => {
    let loaded: Loaded;
    try {
      const options: LoadOptions = {
        onProgress: (p) => { if (!disposed && !store.getState().model) store.setState({ loading: { label: backend.label, events: p.events } }); },
        onPartial: (model) => {
          if (!disposed) store.setState((s) => ({ model, loading: undefined, ...place(s, model, false) }));
        },
        onFlow: layoutFlowAhead,
      };
      // The entry module may have started loading this bundle before the app was there.
      const early = takeEarlyLoad(backend);
      early?.listen(options);
      loaded = await (early?.loaded ?? loadBundle(backend, options));
    } catch (err) {
      if (!disposed) store.setState({ loading: undefined, loadError: `${backend.label}: ${(err as Error).message}` });
      return;
    }
    if (disposed) return;
    const model = loaded.model;
    store.setState((s) => {
      const placed = place(s, model, true);
      // Past the load, following means following a live run's head.
      const follow = (placed.follow ?? s.follow) && model.live && !model.complete;
      return { model, loading: undefined, ...placed, follow };
    });
    if (model.live && !model.complete && !model.fatal) void follow(loaded);
    const toValidate = loaded.tail.validate;
    loaded.tail.validate = undefined;
    const documents = loaded.tail.documents ?? [];
    loaded.tail.documents = undefined;
    if (!model.fatal && (toValidate || documents.length > 0)) {
      // After the first paint and the first input, not before: validation is a background check.
      await new Promise<void>((resolve) => setTimeout(resolve, 300));
      if (!disposed && toValidate) validateInBackground(toValidate, 0);
      // manifest.json and flow.json passed a structural check to be shown at once; zod's verdict is added now.
      if (!disposed) {
        void validateDocuments(documents).then((issues) => {
          if (!disposed && issues.length > 0) store.setState((s) => (s.model ? { model: { ...s.model, issues: [...s.model.issues, ...issues] } } : {}));
        });
      }
    }
  })();

  return () => {
    disposed = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
