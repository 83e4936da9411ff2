/**
 * Builds the conversation (`record.json` messages) from raw ACP traffic (`events.ndjson` lines). The record is
 * derived data: the recorder writes it, and anyone holding the events can rebuild it.
 */
import type { ArtifactRef } from './common.ts';
import type { ConversationEntry, MessageContentItem, SessionEventLine } from './session.ts';

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * The text of an ACP content block (or list of blocks), as record.json and a turn's response both show it: text as
 * is, a resource link (or an embedded resource) as a Markdown link, images and audio as nothing (they are listed
 * in the entry's `content`). The runtime uses this too, so a node's output and its record agree.
 */
export function contentText(content: unknown): string {
  if (Array.isArray(content)) return content.map(contentText).join('');
  const block = asObject(content);
  if (!block) return '';
  if (block.type === 'text' && typeof block.text === 'string') return block.text;
  if (block.type === 'resource_link' && typeof block.uri === 'string') return `[${String(block.name ?? block.uri)}](${block.uri})`;
  const resource = block.type === 'resource' ? asObject(block.resource) : undefined;
  if (resource && typeof resource.uri === 'string') return `[${resource.uri}](${resource.uri})`;
  return '';
}

/**
 * Stores the base64 bytes of a content block (an image's or audio clip's `data`, an embedded resource's `blob`) as
 * an artifact and returns its reference. The recorder's hook writes the file; `repair` and `verify` use the same
 * hashing, so a rebuilt record.json names the same artifact. Without a hook the record only points at the line.
 */
export type BlobStore = (base64: string, mediaType: string) => ArtifactRef | undefined;

/** The media type a stored block gets when the agent named none. */
export const UNKNOWN_MEDIA_TYPE = 'application/octet-stream';

/** The base64 payload of a block, if it carries one. */
function blobOf(block: Json, resource: Json | undefined): string | undefined {
  if ((block.type === 'image' || block.type === 'audio') && typeof block.data === 'string') return block.data;
  if (block.type === 'resource' && typeof resource?.blob === 'string') return resource.blob;
  return undefined;
}

/** The blocks of `content` that are not text, as pointers to the line that holds them (and their stored bytes). */
function contentItems(content: unknown, seq: number, store: BlobStore | undefined): MessageContentItem[] {
  const blocks = Array.isArray(content) ? content : [content];
  const items: MessageContentItem[] = [];
  for (const value of blocks) {
    const block = asObject(value);
    if (!block || typeof block.type !== 'string' || block.type === 'text') continue;
    const resource = asObject(block.resource);
    const mimeType = block.mimeType ?? resource?.mimeType;
    const uri = block.uri ?? resource?.uri;
    const blob = store ? blobOf(block, resource) : undefined;
    const artifact = blob === undefined ? undefined : store!(blob, typeof mimeType === 'string' && mimeType !== '' ? mimeType : UNKNOWN_MEDIA_TYPE);
    items.push({
      blockType: block.type,
      ...(typeof mimeType === 'string' ? { mimeType } : {}),
      ...(typeof uri === 'string' ? { uri } : {}),
      ...(typeof block.name === 'string' ? { name: block.name } : {}),
      sessionEventSeq: seq,
      ...(artifact ? { artifact } : {}),
    });
  }
  return items;
}

export class ConversationBuilder {
  readonly messages: ConversationEntry[] = [];
  lastSeq = 0;
  private readonly pendingPermissions = new Map<string, number>();
  /** Prompt requests not answered yet: the index of their first entry (a replay marks the turn when it ends). */
  private readonly pendingPrompts = new Map<string, number>();
  /**
   * The id of a `session/load` request not answered yet: the updates that come before its answer replay history
   * already in the record (a resumed run continuing its session), so they are not added again.
   */
  private loading: string | undefined;

  /** `storeBlob`: where the base64 bytes of images, audio and embedded blobs go (see BlobStore). */
  constructor(private readonly storeBlob?: BlobStore) {}

  add(line: SessionEventLine): void {
    this.lastSeq = line.seq;
    const message = asObject(line.message);
    if (!message) return;
    const method = typeof message.method === 'string' ? message.method : undefined;
    const params = asObject(message.params);
    if (line.direction === 'outgoing' && method === 'session/load' && message.id !== undefined) {
      this.loading = JSON.stringify(message.id);
    } else if (line.direction === 'incoming' && method === undefined && this.loading !== undefined && JSON.stringify(message.id) === this.loading) {
      this.loading = undefined;
    } else if (line.direction === 'incoming' && method === 'session/update' && this.loading !== undefined) {
      return;
    } else if (line.direction === 'outgoing' && method === 'session/prompt' && params) {
      if (message.id !== undefined) this.pendingPrompts.set(JSON.stringify(message.id), this.messages.length);
      this.pushMessage('user', params.prompt, line);
    } else if (line.direction === 'incoming' && method === undefined && message.id !== undefined && this.pendingPrompts.has(JSON.stringify(message.id))) {
      const key = JSON.stringify(message.id);
      const from = this.pendingPrompts.get(key)!;
      this.pendingPrompts.delete(key);
      const replay = replayMark(message);
      if (replay) for (let i = from; i < this.messages.length; i++) this.messages[i] = { ...this.messages[i]!, replay };
    } else if (line.direction === 'incoming' && method === 'session/update' && params) {
      this.update(asObject(params.update), line);
    } else if (line.direction === 'incoming' && method === 'session/request_permission' && params) {
      const toolCall = asObject(params.toolCall);
      const options = Array.isArray(params.options) ? params.options.map(asObject).filter((o) => o !== undefined) : [];
      const index = this.push(
        {
          role: 'permission',
          toolCallId: typeof toolCall?.toolCallId === 'string' ? toolCall.toolCallId : undefined,
          title: typeof toolCall?.title === 'string' ? toolCall.title : undefined,
          options: options.map((o) => ({
            optionId: String(o.optionId ?? ''),
            name: String(o.name ?? ''),
            optionKind: typeof o.kind === 'string' ? o.kind : undefined,
          })),
        },
        line,
      );
      if (message.id !== undefined) this.pendingPermissions.set(JSON.stringify(message.id), index);
    } else if (line.direction === 'outgoing' && method === undefined && message.id !== undefined) {
      const key = JSON.stringify(message.id);
      const index = this.pendingPermissions.get(key);
      if (index === undefined) return;
      this.pendingPermissions.delete(key);
      const outcome = asObject(asObject(message.result)?.outcome);
      const entry = this.messages[index];
      if (entry?.role !== 'permission') return;
      this.messages[index] = {
        ...entry,
        answer:
          outcome?.outcome === 'selected'
            ? { outcome: 'selected', optionId: typeof outcome.optionId === 'string' ? outcome.optionId : undefined }
            : { outcome: 'cancelled' },
        sessionEvents: { from: entry.sessionEvents?.from ?? line.seq, to: line.seq },
      };
    }
  }

  private update(update: Json | undefined, line: SessionEventLine): void {
    if (!update) return;
    switch (update.sessionUpdate) {
      case 'agent_message_chunk':
        return this.appendChunk('agent', update.content, line);
      case 'agent_thought_chunk':
        return this.appendChunk('thought', update.content, line);
      case 'user_message_chunk':
        return this.appendChunk('user', update.content, line);
      case 'tool_call':
        this.push({ role: 'tool_call', toolCallId: String(update.toolCallId ?? ''), ...toolFields(update) }, line);
        return;
      case 'tool_call_update': {
        const id = String(update.toolCallId ?? '');
        for (let i = this.messages.length - 1; i >= 0; i--) {
          const entry = this.messages[i]!;
          if (entry.role === 'tool_call' && entry.toolCallId === id) {
            this.messages[i] = { ...entry, ...toolFields(update), sessionEvents: { from: entry.sessionEvents?.from ?? line.seq, to: line.seq } };
            return;
          }
        }
        this.push({ role: 'tool_call', toolCallId: id, ...toolFields(update) }, line);
        return;
      }
      case 'plan': {
        const entries = Array.isArray(update.entries) ? update.entries.map(asObject).filter((e) => e !== undefined) : [];
        this.push(
          {
            role: 'plan',
            entries: entries.map((e) => ({
              content: String(e.content ?? ''),
              status: typeof e.status === 'string' ? e.status : undefined,
              priority: typeof e.priority === 'string' ? e.priority : undefined,
            })),
          },
          line,
        );
        return;
      }
      default:
        return;
    }
  }

  private appendChunk(role: 'agent' | 'thought' | 'user', content: unknown, line: SessionEventLine): void {
    const last = this.messages.at(-1);
    if (last && last.role === role && last.attemptId === line.attemptId) {
      const items = [...(last.content ?? []), ...contentItems(content, line.seq, this.storeBlob)];
      this.messages[this.messages.length - 1] = {
        ...last,
        text: last.text + contentText(content),
        ...(items.length > 0 ? { content: items } : {}),
        sessionEvents: { from: last.sessionEvents?.from ?? line.seq, to: line.seq },
      };
      return;
    }
    this.pushMessage(role, content, line);
  }

  private pushMessage(role: 'agent' | 'thought' | 'user', content: unknown, line: SessionEventLine): void {
    const items = contentItems(content, line.seq, this.storeBlob);
    this.push({ role, text: contentText(content), ...(items.length > 0 ? { content: items } : {}) }, line);
  }

  private push(entry: DistributiveOmit<ConversationEntry, 'index' | 'attemptId' | 'sessionEvents'>, line: SessionEventLine): number {
    const index = this.messages.length;
    this.messages.push({
      ...entry,
      index,
      ...(line.attemptId ? { attemptId: line.attemptId } : {}),
      sessionEvents: { from: line.seq, to: line.seq },
    } as ConversationEntry);
    return index;
  }
}

/** How a replay served a turn, read from the prompt's answer (SPEC "Replay"): live agent, miss, or (undefined) the recording. */
function replayMark(answer: Json): 'live' | 'miss' | undefined {
  if (asObject(asObject(asObject(answer.result)?._meta))?.['flowtape/replay'] === 'live') return 'live';
  if (asObject(asObject(asObject(answer.error)?.data))?.replayMiss !== undefined) return 'miss';
  return undefined;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function toolFields(update: Json) {
  const fields: Record<string, unknown> = {};
  if (typeof update.title === 'string') fields.title = update.title;
  if (typeof update.kind === 'string') fields.toolKind = update.kind;
  if (typeof update.status === 'string') fields.status = update.status;
  if (Array.isArray(update.content)) fields.content = update.content;
  if (Array.isArray(update.locations)) fields.locations = update.locations;
  if (update.rawInput !== undefined) fields.rawInput = update.rawInput;
  if (update.rawOutput !== undefined) fields.rawOutput = update.rawOutput;
  return fields as { title?: string; toolKind?: string; status?: string };
}

/** Rebuilds a conversation from a whole list of session events. */
export function buildConversation(lines: Iterable<SessionEventLine>, storeBlob?: BlobStore): ConversationEntry[] {
  const builder = new ConversationBuilder(storeBlob);
  for (const line of lines) builder.add(line);
  return builder.messages;
}
