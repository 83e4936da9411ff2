/**
 * Turns runtime values into `ValueRef`s: small JSON values inline, large ones (and prompts and responses, always)
 * into artifacts with a preview. Redaction is applied before the size decision and before hashing.
 */
import type { ArtifactRef, ErrorInfo, JsonValue, ValueRef } from '@flowtape/schema';
import type { ArtifactStore } from './artifacts.ts';
import type { RedactHook } from './redact.ts';

export const DEFAULT_INLINE_LIMIT = 2048;
const PREVIEW_CHARS = 240;

export interface EncodeOptions {
  /** Store as an artifact whatever the size (prompts, responses). */
  artifact?: boolean;
}

/** JSON text of a value, or undefined when the value has no JSON form (undefined, a function). */
export function jsonText(value: unknown): string | undefined {
  try {
    // Without a replacer first: a replacer is called for every key and costs more than the rest of recording a
    // value. Only a BigInt makes plain JSON.stringify throw where the replacer would not.
    return JSON.stringify(value);
  } catch {
    // a BigInt somewhere (or a cycle, which the replacer reports the same way)
  }
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch (error) {
    return JSON.stringify(`[unserializable value: ${(error as Error).message.split('\n')[0]}]`);
  }
}

/** Whether `text` takes at most `limit` bytes of UTF-8: a UTF-16 unit is at most 3 bytes, so short texts need no count. */
function fitsInline(text: string, limit: number): boolean {
  return text.length * 3 <= limit || (text.length <= limit && Buffer.byteLength(text) <= limit);
}

export class ValueEncoder {
  /**
   * The JSON text of the ValueRef the last `value` call returned, when it is known without serializing the ref again:
   * an inline value whose text the redaction left as it was (then `JSON.stringify(ref)` is exactly this, since the
   * inlined value is that text parsed). Undefined otherwise. Read right after the call (event-json.ts).
   */
  lastRefJson: string | undefined;

  constructor(
    private readonly store: ArtifactStore,
    private readonly redact: RedactHook,
    private readonly inlineLimit: number,
    /** Called for every artifact a value went to, before the event that references it is emitted. */
    private readonly onArtifact: (artifact: ArtifactRef, role: string) => void,
  ) {}

  /** Any JSON value. Strings that go to an artifact are stored as text, other values as JSON. */
  value(value: unknown, role: string, options: EncodeOptions = {}): ValueRef | undefined {
    this.lastRefJson = undefined;
    if (value === undefined) return undefined;
    if (typeof value === 'string') return this.text(value, role, options);
    const text = jsonText(value);
    if (text === undefined) return undefined;
    const json = this.redact(text, 'json');
    if (!options.artifact && fitsInline(json, this.inlineLimit)) {
      // JSON.stringify's own text, parsed, serializes back to the same text; a text the redaction changed may not.
      if (json === text) this.lastRefJson = '{"inline":' + json + '}';
      return { inline: JSON.parse(json) as JsonValue };
    }
    const artifact = this.store.put(json, 'application/json');
    this.onArtifact(artifact, role);
    return { artifact, preview: json.slice(0, PREVIEW_CHARS) };
  }

  text(value: string, role: string, options: EncodeOptions = {}): ValueRef {
    const text = this.redact(value, 'text');
    if (!options.artifact && fitsInline(text, this.inlineLimit - 2)) return { inline: text };
    const artifact = this.store.put(text, 'text/plain');
    this.onArtifact(artifact, role);
    return { artifact, preview: text.slice(0, PREVIEW_CHARS) };
  }

  /** Any JSON value, copied (and redacted) so later mutation by the flow cannot reach the bundle. */
  json(value: unknown): JsonValue {
    const text = jsonText(value);
    return text === undefined ? null : (JSON.parse(this.redact(text, 'json')) as JsonValue);
  }

  error(error: ErrorInfo | undefined, keepStack: boolean): ErrorInfo | undefined {
    if (!error) return undefined;
    const out: ErrorInfo = { message: this.redact(String(error.message), 'text') };
    if (error.code !== undefined) out.code = String(error.code);
    if (error.name !== undefined) out.name = String(error.name);
    if (keepStack && error.stack !== undefined) out.stack = this.redact(String(error.stack), 'text');
    return out;
  }
}
