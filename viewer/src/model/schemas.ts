// What the viewer uses of the schema package's zod side: only ever imported through lazy-schemas.ts (import()).
export {
  FlowSnapshot,
  Manifest,
  SessionBinding,
  SessionRecord,
  checkTraceEvent,
  loadSessionEvents,
  parseDocument,
} from '@flowtape/schema';
