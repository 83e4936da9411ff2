// The schema package's zod side (schemas, parseDocument, checkTraceEvent), loaded on demand: evaluating the zod
// schemas took ~130 ms of the main thread, so the first screen (loader, reducer, panels) imports only zod-free
// schema modules, and whatever really needs zod — a document or trace line the cheap checks do not vouch for, a
// session opened — awaits loadSchemas(); the full checks after load run in the validation worker. The build puts
// schemas.ts and zod in a chunk of their own (test/viewer-zod-chunk.test.ts: the first screen's chunks hold no zod).
export type Schemas = typeof import('./schemas.ts');

let loading: Promise<Schemas> | undefined;
let loaded: Schemas | undefined;

export function loadSchemas(): Promise<Schemas> {
  loading ??= import('./schemas.ts').then((m) => (loaded = m));
  return loading;
}

/** The schemas when loadSchemas() has resolved already (for synchronous callers that can wait otherwise). */
export function loadedSchemas(): Schemas | undefined {
  return loaded;
}
