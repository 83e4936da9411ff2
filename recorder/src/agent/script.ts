// The scripted agent's script format: zod schemas (the source of truth) and inferred types. Loading a file, with
// one clear line for a bad one: script-load.ts. The format is documented in recorder/SCRIPTED_AGENT.md.
import { z } from 'zod';

const toolKinds = ['read', 'edit', 'delete', 'move', 'search', 'execute', 'think', 'fetch', 'switch_mode', 'other'] as const;
const toolStatuses = ['pending', 'in_progress', 'completed', 'failed'] as const;
const stopReasons = ['end_turn', 'max_tokens', 'max_turn_requests', 'refusal', 'cancelled'] as const;
const permissionKinds = ['allow_once', 'allow_always', 'reject_once', 'reject_always'] as const;

const rpcError = z.strictObject({
  code: z.int(),
  message: z.string().min(1),
  data: z.unknown().optional(),
});

// Tool call content: a plain string is shorthand for a text content block; otherwise an ACP ToolCallContent.
const contentBlock = z.looseObject({ type: z.string().min(1) }).check((ctx) => {
  if (ctx.value.type === 'text' && typeof ctx.value['text'] !== 'string') {
    ctx.issues.push({ code: 'custom', message: 'a text content block needs a string "text"', input: ctx.value, path: ['text'] });
  }
});
const toolCallContent = z.union([
  z.string(),
  z.strictObject({ type: z.literal('content'), content: contentBlock }),
  z.strictObject({ type: z.literal('diff'), path: z.string().min(1), oldText: z.string().nullable().optional(), newText: z.string() }),
  z.strictObject({ type: z.literal('terminal'), terminalId: z.string().min(1) }),
]);
const location = z.strictObject({ path: z.string().min(1), line: z.int().min(0).optional() });

const toolCallFields = {
  title: z.string(),
  kind: z.enum(toolKinds),
  status: z.enum(toolStatuses),
  content: z.array(toolCallContent),
  locations: z.array(location),
  rawInput: z.unknown(),
  rawOutput: z.unknown(),
};

const toolCall = z.strictObject({
  toolCallId: z.string().min(1),
  title: toolCallFields.title,
  kind: toolCallFields.kind.optional(),
  status: toolCallFields.status.optional(),
  content: toolCallFields.content.optional(),
  locations: toolCallFields.locations.optional(),
  rawInput: toolCallFields.rawInput.optional(),
  rawOutput: toolCallFields.rawOutput.optional(),
});
const toolCallUpdate = toolCall.extend({ title: toolCallFields.title.optional() });

const planEntry = z.strictObject({
  content: z.string(),
  priority: z.enum(['high', 'medium', 'low']).default('medium'),
  status: z.enum(['pending', 'in_progress', 'completed']).default('pending'),
});

const permissionOption = z.strictObject({
  optionId: z.string().min(1),
  name: z.string().min(1),
  kind: z.enum(permissionKinds),
});

// An image the agent sends as a message chunk: bytes from a file (relative to the script) or inline base64. The
// mimeType is sent as written, unchecked, so tests can also try what a hostile agent sends (image/svg+xml).
const imageStep = z
  .strictObject({
    path: z.string().min(1).optional(),
    data: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 (A-Z a-z 0-9 + /, = padding)').optional(),
    mimeType: z.string().min(1),
    uri: z.string().optional(),
  })
  .check((ctx) => {
    if ((ctx.value.path === undefined) === (ctx.value.data === undefined)) {
      ctx.issues.push({ code: 'custom', input: ctx.value, path: [], message: 'an image needs exactly one of "path" (a file, relative to the script) and "data" (base64)' });
    }
  });
export type ImageStep = z.infer<typeof imageStep>;

const readFileStep = z.strictObject({
  path: z.string().min(1),
  line: z.int().min(1).optional(),
  limit: z.int().min(1).optional(),
  toolCallId: z.string().min(1).optional(),
  echo: z.boolean().optional(),
});
const writeFileStep = z.strictObject({
  path: z.string().min(1),
  content: z.string(),
  toolCallId: z.string().min(1).optional(),
});

// An auth method the agent advertises in `initialize` (ACP's AuthMethod, with the `env_var` variant codex-acp
// sends). `error` is the scripted agent's own: `authenticate` with this method is answered with that error.
const authVar = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name: letters, digits and _'),
  label: z.string().optional(),
  optional: z.boolean().optional(),
  secret: z.boolean().optional(),
});
const authMethod = z
  .strictObject({
    id: z.string().min(1),
    name: z.string().min(1),
    description: z.string().optional(),
    type: z.enum(['agent', 'env_var', 'terminal']).optional(),
    vars: z.array(authVar).min(1).optional(),
    error: rpcError.optional(),
  })
  .check((ctx) => {
    const method = ctx.value;
    if (method.type === 'env_var' && method.vars === undefined) {
      ctx.issues.push({ code: 'custom', input: method, path: ['vars'], message: 'an env_var method needs "vars": [{ "name": "…" }]' });
    }
    if (method.type !== 'env_var' && method.vars !== undefined) {
      ctx.issues.push({ code: 'custom', input: method.vars, path: ['vars'], message: '"vars" is only for "type": "env_var" methods' });
    }
  });

/** The step keys, in the order the documentation lists them. A step is an object with exactly one of them. */
export const stepKinds = [
  'message', 'thought', 'image', 'toolCall', 'toolCallUpdate', 'plan', 'permission', 'readFile', 'writeFile', 'usage',
  'delayMs', 'stderr', 'echoEnv', 'garbage', 'raw', 'echoSession', 'error', 'exit', 'hang', 'stopReason',
] as const;
export type StepKind = (typeof stepKinds)[number];

/** Steps after which nothing else in the turn can run. */
const terminalKinds: ReadonlySet<StepKind> = new Set(['error', 'exit', 'hang', 'stopReason']);

export interface PermissionStep {
  toolCallId: string;
  title?: string | undefined;
  kind?: (typeof toolKinds)[number] | undefined;
  rawInput?: unknown;
  options?: Array<z.infer<typeof permissionOption>> | undefined;
  ifAllowed?: Step[] | undefined;
  ifRejected?: Step[] | undefined;
}

export interface Step {
  message?: string | undefined;
  thought?: string | undefined;
  image?: ImageStep | undefined;
  toolCall?: z.infer<typeof toolCall> | undefined;
  toolCallUpdate?: z.infer<typeof toolCallUpdate> | undefined;
  plan?: Array<z.infer<typeof planEntry>> | undefined;
  permission?: PermissionStep | undefined;
  readFile?: z.infer<typeof readFileStep> | undefined;
  writeFile?: z.infer<typeof writeFileStep> | undefined;
  usage?: Record<string, unknown> | undefined;
  delayMs?: number | undefined;
  stderr?: string | undefined;
  echoEnv?: string | undefined;
  garbage?: string | undefined;
  raw?: unknown;
  echoSession?: true | undefined;
  error?: z.infer<typeof rpcError> | undefined;
  exit?: number | undefined;
  hang?: true | undefined;
  stopReason?: (typeof stopReasons)[number] | undefined;
}

// Every step key is optional in the object schema, and a check demands exactly one: zod then reports errors
// at the precise path (`/turns/0/steps/2/toolCall/kind`) instead of an opaque "no union member matched".
const stepsSchema: z.ZodType<Step[]> = z.lazy(() => z.array(stepSchema).check(checkReachable));

const permissionStep = z.strictObject({
  toolCallId: z.string().min(1),
  title: z.string().optional(),
  kind: z.enum(toolKinds).optional(),
  rawInput: z.unknown().optional(),
  options: z.array(permissionOption).min(1).optional(),
  ifAllowed: stepsSchema.optional(),
  ifRejected: stepsSchema.optional(),
});

const stepSchema: z.ZodType<Step> = z
  .strictObject({
    message: z.string().optional(),
    thought: z.string().optional(),
    image: imageStep.optional(),
    toolCall: toolCall.optional(),
    toolCallUpdate: toolCallUpdate.optional(),
    plan: z.array(planEntry).optional(),
    permission: permissionStep.optional(),
    readFile: readFileStep.optional(),
    writeFile: writeFileStep.optional(),
    // Sent as written (no checks), so tests can also try what a careless agent sends.
    usage: z.record(z.string(), z.unknown()).optional(),
    delayMs: z.int().min(0).max(600_000).optional(),
    stderr: z.string().optional(),
    echoEnv: z.string().min(1).optional(),
    garbage: z.string().refine((s) => !s.includes('\n'), 'garbage must be a single line').optional(),
    raw: z.unknown().optional(),
    echoSession: z.literal(true).optional(),
    error: rpcError.optional(),
    exit: z.int().min(0).max(255).optional(),
    hang: z.literal(true).optional(),
    stopReason: z.enum(stopReasons).optional(),
  })
  .refine((step) => presentKeys(step).length === 1, {
    error: (issue) => {
      const keys = presentKeys(issue.input as Step);
      return `a step needs exactly one of ${stepKinds.join(', ')} (found ${keys.length === 0 ? 'none' : keys.join(', ')})`;
    },
    // An unknown key (a typo) already explains the step; do not pile "found none" on top of it.
    when: (payload) => payload.issues.length === 0,
  });

function presentKeys(step: Step): string[] {
  return Object.keys(step).filter((k) => (step as Record<string, unknown>)[k] !== undefined);
}

function checkReachable(ctx: { value: Step[]; issues: Array<z.core.$ZodRawIssue> }): void {
  const steps = ctx.value;
  for (let i = 0; i < steps.length - 1; i++) {
    const kind = stepKind(steps[i]!);
    if (kind && terminalKinds.has(kind)) {
      ctx.issues.push({
        code: 'custom',
        input: steps[i + 1],
        path: [i + 1],
        message: `unreachable step: the "${kind}" step before it ends the turn`,
      });
      return;
    }
  }
}

const matchSchema = z.union([
  z.string(),
  z.strictObject({ regex: z.string(), flags: z.string().regex(/^[dgimsuvy]*$/, 'flags may only use d, g, i, m, s, u, v, y').optional() })
    .check((ctx) => {
      try {
        new RegExp(ctx.value.regex, ctx.value.flags);
      } catch (error) {
        ctx.issues.push({ code: 'custom', input: ctx.value.regex, path: ['regex'], message: `invalid regular expression: ${(error as Error).message}` });
      }
    }),
]);

// Steps sent after the prompt's answer (a late `usage_update`, a trailing message): notifications only.
const afterAnswerKinds: ReadonlySet<StepKind> = new Set(['message', 'thought', 'image', 'toolCallUpdate', 'plan', 'usage', 'delayMs', 'stderr', 'raw']);
const afterAnswerSchema = z.array(z.lazy(() => stepSchema)).check((ctx) => {
  for (const [i, step] of ctx.value.entries()) {
    const kind = stepKind(step);
    if (kind && !afterAnswerKinds.has(kind)) {
      ctx.issues.push({ code: 'custom', input: step, path: [i], message: `"${kind}" cannot come after the answer (only ${[...afterAnswerKinds].join(', ')})` });
    }
  }
});

const turnSchema = z.strictObject({
  name: z.string().optional(),
  match: matchSchema,
  times: z.int().min(1).optional(),
  steps: stepsSchema,
  // The `usage` of the session/prompt answer, sent as written.
  usage: z.record(z.string(), z.unknown()).optional(),
  afterAnswer: afterAnswerSchema.optional(),
});

export const scriptSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().optional(),
  agent: z.strictObject({
    name: z.string().min(1),
    version: z.string().min(1).default('0.0.0'),
    title: z.string().optional(),
  }).default({ name: 'flowtape-scripted-agent', version: '0.0.0' }),
  protocolVersion: z.int().min(0).optional(),
  mcpCapabilities: z.strictObject({ http: z.boolean().optional(), sse: z.boolean().optional() }).optional(),
  initialize: z.strictObject({ error: rpcError }).optional(),
  authMethods: z.array(authMethod).optional().check((ctx) => {
    const ids = (ctx.value ?? []).map((m) => m.id);
    const twice = ids.findIndex((id, i) => ids.indexOf(id) !== i);
    if (twice !== -1) ctx.issues.push({ code: 'custom', input: ctx.value, path: [twice, 'id'], message: `auth method id "${ids[twice]}" is listed twice` });
  }),
  sessionNew: z.strictObject({ error: rpcError }).optional(),
  capabilities: z
    .strictObject({ loadSession: z.boolean().default(true), resume: z.boolean().default(false) })
    .default({ loadSession: true, resume: false }),
  sessionLoad: z.strictObject({ error: rpcError.optional(), replay: stepsSchema.optional() }).optional(),
  turns: z.array(turnSchema).default([]),
  fallback: z.strictObject({ steps: stepsSchema, usage: z.record(z.string(), z.unknown()).optional(), afterAnswer: afterAnswerSchema.optional() }).optional(),
});

export type Script = z.infer<typeof scriptSchema>;
export type Turn = Script['turns'][number];
export type TurnMatch = Turn['match'];
export type ScriptAuthMethod = z.infer<typeof authMethod>;
export type ScriptToolCallContent = z.infer<typeof toolCallContent>;

/** Which kind of step this is (the one key it has). */
export function stepKind(step: Step): StepKind | undefined {
  return stepKinds.find((k) => step[k] !== undefined);
}
