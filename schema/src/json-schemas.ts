/** Every document of the format that gets a generated JSON Schema file in `schema/json/`. */
import type { z } from 'zod';
import { SCHEMA_IDS } from './ids.ts';
import { Manifest } from './manifest.ts';
import { FlowSnapshot } from './flow.ts';
import { TraceEvent } from './events.ts';
import { LiveProjection, RunProjection, StepsProjection } from './projections.ts';
import { SessionBinding, SessionEventLine, SessionRecord } from './session.ts';
import { ArtifactRef } from './common.ts';

export const JSON_SCHEMA_DOCUMENTS: ReadonlyArray<{ file: string; id: string; schema: z.ZodType }> = [
  { file: 'manifest.schema.json', id: SCHEMA_IDS.bundle, schema: Manifest },
  { file: 'flow.schema.json', id: SCHEMA_IDS.flow, schema: FlowSnapshot },
  { file: 'trace-event.schema.json', id: SCHEMA_IDS.traceEvent, schema: TraceEvent },
  { file: 'run.schema.json', id: SCHEMA_IDS.run, schema: RunProjection },
  { file: 'live.schema.json', id: SCHEMA_IDS.live, schema: LiveProjection },
  { file: 'steps.schema.json', id: SCHEMA_IDS.steps, schema: StepsProjection },
  { file: 'session-binding.schema.json', id: SCHEMA_IDS.sessionBinding, schema: SessionBinding },
  { file: 'session-record.schema.json', id: SCHEMA_IDS.sessionRecord, schema: SessionRecord },
  { file: 'session-event.schema.json', id: SCHEMA_IDS.sessionEvent, schema: SessionEventLine },
  { file: 'artifact-ref.schema.json', id: SCHEMA_IDS.artifactRef, schema: ArtifactRef },
];
