import { z } from 'zod';
import { SCHEMA_IDS } from './ids.ts';
import { BundlePath, IsoTime, RunId, RunStatus, SessionId, Writer } from './common.ts';

export const Manifest = z
  .object({
    schema: z.literal(SCHEMA_IDS.bundle),
    runId: RunId,
    flowName: z.string().min(1),
    status: RunStatus,
    complete: z.boolean().describe('True only once the run has ended and every file is flushed.'),
    createdAt: IsoTime,
    updatedAt: IsoTime,
    endedAt: IsoTime.optional(),
    lastSeq: z.number().int().nonnegative().describe('The trace seq this manifest reflects.'),
    files: z
      .object({
        flow: BundlePath,
        trace: BundlePath,
        run: BundlePath,
        live: BundlePath,
        steps: BundlePath,
      })
      .describe('Where each file of the bundle is, relative to the bundle root.'),
    sessions: z
      .array(z.object({ sessionId: SessionId, path: BundlePath }))
      .describe('Every session directory of the run.'),
    writer: Writer.describe('The program that wrote the bundle; `pid` lets `repair` tell an abandoned run.'),
    abandoned: z.boolean().optional().describe('Set by `flowtape repair` when the writer died before the end.'),
    warnings: z
      .array(z.string())
      .optional()
      .describe(
        'Non-fatal problems the writer met, kept with the run (a live OpenTelemetry export that could not reach its collector, a duplicate outcome it did not record). Absent when there were none.',
      ),
    origin: z
      .object({ format: z.string(), tool: z.string().optional(), path: z.string().optional() })
      .optional()
      .describe('Set when the bundle was converted from another format (`flowtape import`).'),
    permissionPolicy: z
      .enum(['approve-all', 'approve-reads', 'deny'])
      .optional()
      .describe(
        "The run's permission policy (`--permission`): how ACP permission requests were answered where the flow and the node name none. Absent: none was given (the default, `approve-reads`). `flowtape replay` uses it unless told otherwise.",
      ),
    replayOf: z
      .object({
        runId: RunId.describe('The run id of the bundle this run replayed.'),
        traceSha256: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of that bundle\'s trace.ndjson when the replay started.'),
        from: z.string().optional().describe('`--from <node>`: the node from whose first attempt on the run went live.'),
      })
      .optional()
      .describe('Set by `flowtape replay`: the recorded run this one re-ran against (see "Replay").'),
  })
  .meta({ title: 'manifest.json', description: 'The entry point of a bundle: readers start here.' });
export type Manifest = z.infer<typeof Manifest>;

// The file layout without zod (the viewer reads a bundle before the schemas are loaded): bundle-files.ts.
export { BUNDLE_FILES, sessionFiles } from './bundle-files.ts';
