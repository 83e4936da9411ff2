import { z } from 'zod';
import { BUNDLE_PATH_MAX, BUNDLE_PATH_PATTERN, bundlePathProblem } from './bundle-path.ts';

/** Any JSON value. Values on the wire are JSON-representable only: no Dates, no transforms. */
export const JsonValue = z.json();
export type JsonValue = z.infer<typeof JsonValue>;

export const IsoTime = z.iso.datetime({ offset: true }).describe('An ISO 8601 timestamp.');

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

/** The patterns of the ids below, for the fast path of trace validation (fast-check.ts): the same rules, once. */
export const RUN_ID_PATTERN = SAFE_ID;
export const ATTEMPT_ID_PATTERN = /^.+#[1-9][0-9]*$/;
export const SESSION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
export const ARTIFACT_PATH_PATTERN = /^artifacts\/sha256-[0-9a-f]{64}(?:\.[a-z0-9]{1,16})?$/;

export const RunId = z.string().regex(RUN_ID_PATTERN).describe('Run id: letters, digits, `_ . : -`.');
export const NodeId = z.string().min(1).max(200).describe('A node id from flow.json.');
export const AttemptId = z
  .string()
  .regex(ATTEMPT_ID_PATTERN)
  .describe('`<nodeId>#<attempt>`: the n-th run of a node in this run, from 1.');
/** flowtape's own session id: also a directory name under `sessions/`, so it is kept filesystem-safe. */
export const SessionId = z
  .string()
  .regex(SESSION_ID_PATTERN)
  .describe('flowtape session id (a directory name under sessions/), not the agent\'s own session id.');

export const Sha256 = z.string().regex(SHA256_PATTERN);

/**
 * A path inside the bundle, checked by `bundlePathProblem` (the one rule every reader and writer uses); the pattern
 * only carries the same rule into the generated JSON Schema.
 */
export const BundlePath = z
  .string()
  .check(
    z.refine((path) => bundlePathProblem(path) === undefined, {
      error: (issue) => `not a path inside the bundle (${bundlePathProblem(issue.input)})`,
    }),
  )
  .meta({ minLength: 1, maxLength: BUNDLE_PATH_MAX, pattern: BUNDLE_PATH_PATTERN })
  .describe(
    'A path relative to the bundle root: names joined by `/`; never absolute, no empty, `.` or `..` segment, no backslash, control character or line separator.',
  );

export const ArtifactRef = z
  .object({
    path: z
      .string()
      .regex(ARTIFACT_PATH_PATTERN)
      .describe('`artifacts/sha256-<hex>.<ext>`: content-addressed, written once.'),
    sha256: Sha256,
    size: z.number().int().nonnegative().describe('Size in bytes.'),
    mediaType: z.string().min(1).describe('e.g. `text/plain`, `application/json`.'),
  })
  .describe('A reference to a content-addressed artifact file.');
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** A value that is stored inline when small and in an artifact when large. */
export const ValueRef = z.union([
  z.object({ inline: JsonValue }).describe('The value itself.'),
  z
    .object({
      artifact: ArtifactRef,
      preview: z.string().max(4096).optional().describe('The first characters, for lists and summaries.'),
    })
    .describe('The value is the content of an artifact.'),
]);
export type ValueRef = z.infer<typeof ValueRef>;

export const ErrorInfo = z
  .object({
    message: z.string().describe('One line a person can act on.'),
    code: z.string().optional().describe('A stable machine-readable code, e.g. `agent_exited`, `exit_code`.'),
    name: z.string().optional(),
    stack: z.string().optional(),
  })
  .describe('What went wrong.');
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** Inclusive range; `to < from` never happens — an empty range is simply absent. */
export const SeqRange = z
  .object({ from: z.number().int().nonnegative(), to: z.number().int().nonnegative() })
  .describe('An inclusive range of sequence numbers or indexes.');
export type SeqRange = z.infer<typeof SeqRange>;

export const RunStatus = z.enum(['running', 'waiting', 'completed', 'failed', 'timed_out', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

export const NodeType = z.enum(['acp', 'compute', 'action', 'checkpoint', 'decision']);
export type NodeType = z.infer<typeof NodeType>;

export const Outcome = z
  .enum(['ok', 'failed', 'timed_out', 'cancelled', 'interrupted'])
  .describe('`interrupted`: the writer died mid-attempt; added by `flowtape repair`.');
export type Outcome = z.infer<typeof Outcome>;

export const ActionType = z.enum(['shell', 'function']);
export type ActionType = z.infer<typeof ActionType>;

export const Writer = z.object({
  name: z.string(),
  version: z.string(),
  pid: z.number().int().optional(),
  hostname: z.string().optional(),
  exclusive: z
    .boolean()
    .optional()
    .describe('True while the bundle\'s one writer (`flowtape run`) has it open: no other process may append to it while that pid is alive. Absent once it closed.'),
});
