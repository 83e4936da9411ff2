import { z } from 'zod';
import { SCHEMA_IDS } from './ids.ts';
import { ArtifactRef, AttemptId, ErrorInfo, IsoTime, JsonValue, SessionId, SeqRange } from './common.ts';

const McpNameValue = z.object({ name: z.string(), value: z.string().describe('Recorded as `[redacted:<name>]`.') });

/**
 * An MCP server given to the agent, in the format's own names: ACP's `type` is `transport` here (`stdio` where ACP
 * leaves it out). The exact ACP object is the `session/new` request in events.ndjson.
 */
export const McpServerBinding = z
  .union([
    z.object({
      name: z.string(),
      transport: z.literal('stdio'),
      command: z.string(),
      args: z.array(z.string()),
      env: z.array(McpNameValue),
    }),
    z.object({
      name: z.string(),
      transport: z.enum(['http', 'sse']),
      url: z.string(),
      headers: z.array(McpNameValue),
    }),
  ])
  .meta({ title: 'MCP server', description: 'stdio: { name, transport, command, args, env }; remote: { name, transport, url, headers }.' });
export type McpServerBinding = z.infer<typeof McpServerBinding>;

export const SessionBinding = z
  .object({
    schema: z.literal(SCHEMA_IDS.sessionBinding),
    sessionId: SessionId,
    handle: z.string(),
    acpSessionId: z.string().optional().describe("The agent's own id for the session; absent when it could not be started."),
    mode: z.enum(['shared', 'isolated']),
    agentCommand: z.array(z.string()),
    cwd: z.string().optional(),
    protocolVersion: z.number().int().optional(),
    agent: z.object({ name: z.string(), version: z.string().optional() }).optional(),
    authMethodId: z
      .string()
      .optional()
      .describe('The ACP auth method flowtape sent in `authenticate` before creating the session (the request is in events.ndjson).'),
    mcpServers: z
      .array(McpServerBinding)
      .optional()
      .describe(
        'The MCP servers flowtape passed in `session/new` (absent: none). Values of env variables and headers are secrets: recorded as `[redacted:<name>]`, here and in events.ndjson.',
      ),
    createdAt: IsoTime,
    boundBy: AttemptId.optional().describe('The attempt that created the session.'),
    error: ErrorInfo.optional().describe('The session could not be started (see the `session.failed` event).'),
  })
  .meta({ title: 'sessions/<id>/binding.json', description: 'Which agent, which ACP session, created by whom.' });
export type SessionBinding = z.infer<typeof SessionBinding>;

/** One line of `sessions/<id>/events.ndjson`: a raw JSON-RPC message as it crossed stdio. */
export const SessionEventLine = z
  .object({
    seq: z.number().int().positive().describe('1, 2, 3… contiguous per session.'),
    at: IsoTime,
    direction: z
      .enum(['outgoing', 'incoming', 'stderr'])
      .describe('`outgoing`: client → agent; `incoming`: agent → client; `stderr`: a line the agent logged.'),
    message: JsonValue.optional().describe(
      'The JSON-RPC message. Exactly as sent unless `raw` is present (then `message` is what JSON.parse of `raw` gives, serialised again).',
    ),
    raw: z
      .string()
      .optional()
      .describe(
        'The JSON-RPC line byte for byte, when serialising the parsed message again would alter it: integers beyond 2^53, `1e400`, `-0`, duplicate keys, other spacing or escapes. Absent when the line is `message` serialised.',
      ),
    text: z
      .string()
      .optional()
      .describe('A stderr line, or an agent stdout line that was not JSON (at most the first 1 MiB of each is recorded per session).'),
    attemptId: AttemptId.optional(),
    omitted: z
      .object({
        bytes: z.number().int().positive().describe('Bytes of the stream (newlines included) that were not recorded.'),
        lines: z.number().int().positive().describe('Lines they hold (a line cut at the cap counts).'),
      })
      .optional()
      .describe(
        "Only on flowtape's summary line, not the agent's: how much of the agent's stderr (`stderr`) or of its stdout that was not JSON (`incoming`) was counted instead of recorded — past the 1 MiB cap per session, or written after the session closed. The last line(s) of the session; `text` says it in words.",
      ),
  })
  .meta({ title: 'sessions/<id>/events.ndjson line', description: 'Raw ACP traffic in order.' });
export type SessionEventLine = z.infer<typeof SessionEventLine>;

const entryBase = {
  index: z.number().int().nonnegative().describe('Position in `messages`.'),
  attemptId: AttemptId.optional().describe('The attempt whose turn produced the entry.'),
  sessionEvents: SeqRange.optional().describe('The events.ndjson seqs the entry was built from.'),
  replay: z
    .enum(['live', 'miss'])
    .optional()
    .describe(
      'Only in a replayed bundle (`flowtape replay`), on every entry of the turn: `live` when a live agent answered it (its answer carries `_meta["flowtape/replay"]: "live"`), `miss` when the recording lacked the prompt (its error carries `data.replayMiss`). Absent: the turn came from the recording (or the bundle is not a replay).',
    ),
};

export const ToolCallEntry = z.object({
  ...entryBase,
  role: z.literal('tool_call'),
  toolCallId: z.string(),
  title: z.string().optional(),
  toolKind: z.string().optional().describe('ACP `kind` of the tool (read, edit, execute, …).'),
  status: z.string().optional().describe('pending, in_progress, completed, failed'),
  content: z.array(JsonValue).optional().describe('ACP tool call content blocks, verbatim.'),
  locations: z.array(JsonValue).optional(),
  rawInput: JsonValue.optional(),
  rawOutput: JsonValue.optional(),
});

/**
 * A content block of a message that is not text: where to find it. The bytes of an image, an audio clip or an
 * embedded resource's `blob` (base64 on the wire) are also stored as an artifact, decoded.
 */
export const MessageContentItem = z.object({
  blockType: z.string().describe('The ACP content block `type`: image, audio, resource, resource_link.'),
  mimeType: z.string().optional(),
  uri: z.string().optional(),
  name: z.string().optional(),
  sessionEventSeq: z.number().int().positive().describe('The events.ndjson line that holds the block (an image or audio block: its base64 data).'),
  artifact: ArtifactRef.optional().describe(
    "The block's decoded bytes (image or audio `data`, an embedded resource's `blob`), content-addressed; `mediaType` is the block's `mimeType` as the agent gave it. Absent when the block carries no base64 data.",
  ),
});
export type MessageContentItem = z.infer<typeof MessageContentItem>;

const messageContent = z
  .array(MessageContentItem)
  .optional()
  .describe("The message's blocks that are not text, in order. A resource link is also in `text`, as a Markdown link.");

export const ConversationEntry = z.discriminatedUnion('role', [
  z.object({ ...entryBase, role: z.literal('user'), text: z.string(), content: messageContent }),
  z.object({ ...entryBase, role: z.literal('agent'), text: z.string(), content: messageContent }),
  z.object({ ...entryBase, role: z.literal('thought'), text: z.string(), content: messageContent }),
  ToolCallEntry,
  z.object({
    ...entryBase,
    role: z.literal('plan'),
    entries: z.array(
      z.object({ content: z.string(), status: z.string().optional(), priority: z.string().optional() }),
    ),
  }),
  z.object({
    ...entryBase,
    role: z.literal('permission'),
    toolCallId: z.string().optional(),
    title: z.string().optional(),
    options: z.array(z.object({ optionId: z.string(), name: z.string(), optionKind: z.string().optional() })),
    answer: z
      .object({ outcome: z.enum(['selected', 'cancelled']), optionId: z.string().optional() })
      .optional()
      .describe('What the permission policy answered; absent while pending.'),
  }),
]);
export type ConversationEntry = z.infer<typeof ConversationEntry>;

export const SessionRecord = z
  .object({
    schema: z.literal(SCHEMA_IDS.sessionRecord),
    sessionId: SessionId,
    acpSessionId: z.string(),
    handle: z.string(),
    lastSeq: z.number().int().nonnegative().describe('The events.ndjson seq this snapshot reflects.'),
    updatedAt: IsoTime,
    messages: z.array(ConversationEntry),
  })
  .meta({ title: 'sessions/<id>/record.json', description: 'The conversation, rebuilt from the raw events.' });
export type SessionRecord = z.infer<typeof SessionRecord>;
