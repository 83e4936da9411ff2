/**
 * Checking `projections/steps.json` against the trace without holding either — the part of `verify` whose memory
 * would otherwise grow with the run (steps.json of a 100k-event bundle is tens of MB, the fold holds every step).
 *
 *  - steps.json is streamed: a small scanner yields the document's top-level fields and each element of its
 *    `steps` array as text, one at a time;
 *  - a step depends only on the trace events that carry its attempt id, so the expected step is the reducer's
 *    fold of those events alone (the same pure `reduce`, on a one-attempt state);
 *  - a first pass over the trace records, per attempt, the seq of the last event that touches it (4 bytes per
 *    attempt); once the fold passes it, the step is final: it is compared with the next element of steps.json,
 *    in order of start, and dropped. The whole-run fold may then replace it by a shared stub.
 */
import { createReadStream } from 'node:fs';
import { firstDifference } from './json-pointer.ts';
import {
  SCHEMA_IDS,
  Step,
  StepsProjection,
  checkSchemaId,
  getStep,
  initialState,
  isPlainlyValidStep,
  reduce,
  toPointer,
  type ProjectionState,
  type ReducibleEvent,
} from '@flowtape/schema';

export type StepsItem = { kind: 'field'; key: string; text: string } | { kind: 'element'; index: number; text: string };

export class StepsScanError extends Error {
  override name = 'StepsScanError';
}

const WS = new Set([' ', '\t', '\n', '\r']);
const [QUOTE, BACKSLASH, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET, COMMA, SPACE, TAB, LF, CR] = [...'"\\{}[], \t\n\r'].map((c) => c.charCodeAt(0));
const VALUE_START = /[{["\-0-9tfn]/;

/**
 * Scans `{ "k": v, …, "<array>": [ e0, e1, … ], … }` from a stream: yields each top-level field's value text and
 * each element's text. Throws StepsScanError when the document is not shaped like that (the caller then reads it
 * whole, for the exact JSON error).
 */
export async function* scanArrayDocument(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, array: string): AsyncGenerator<StepsItem> {
  const decoder = new TextDecoder('utf-8');
  // Parser state: where we are in the top-level object.
  let phase: 'start' | 'key' | 'colon' | 'value' | 'after' | 'elements' | 'done' = 'start';
  let key = '';
  let capture = '';
  let capturing = false;
  let depth = 0; // nesting inside the current value or element
  let inString = false;
  let escaped = false;
  let keyText = '';
  let index = 0;
  let inArray = false;
  let needComma = false;
  const items: StepsItem[] = [];

  const feed = (text: string) => {
    let start = capturing ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (phase === 'key') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') {
            inString = false;
            key = JSON.parse(`"${keyText}"`) as string;
            phase = 'colon';
            continue;
          }
          keyText += ch;
          continue;
        }
        if (WS.has(ch)) continue;
        if (ch === '"') {
          inString = true;
          keyText = '';
          continue;
        }
        if (ch === '}' && index === 0 && items.length === 0) {
          phase = 'done';
          continue;
        }
        throw new StepsScanError('expected a field name');
      }
      if (phase === 'start') {
        if (WS.has(ch)) continue;
        if (ch !== '{') throw new StepsScanError('not a JSON object');
        phase = 'key';
        continue;
      }
      if (phase === 'colon') {
        if (WS.has(ch)) continue;
        if (ch !== ':') throw new StepsScanError('expected ":"');
        phase = 'value';
        continue;
      }
      if (phase === 'after') {
        if (WS.has(ch)) continue;
        if (ch === ',') phase = 'key';
        else if (ch === '}') phase = 'done';
        else throw new StepsScanError('expected "," or "}"');
        continue;
      }
      if (phase === 'done') {
        if (!WS.has(ch)) throw new StepsScanError('text after the end of the document');
        continue;
      }
      // phase 'value' (a top-level field value) or 'elements' (inside the array)
      if (!capturing) {
        if (WS.has(ch)) continue;
        if (phase === 'value' && key === array && ch === '[' && !inArray) {
          inArray = true;
          phase = 'elements';
          continue;
        }
        if (phase === 'elements' && ch === ']') {
          if (index > 0 && !needComma) throw new StepsScanError('a "," before "]"');
          inArray = false;
          phase = 'after';
          continue;
        }
        if (phase === 'elements' && ch === ',') {
          if (!needComma) throw new StepsScanError('unexpected ","');
          needComma = false;
          continue;
        }
        if (phase === 'elements' && needComma) throw new StepsScanError('expected "," between elements');
        if (!VALUE_START.test(ch)) throw new StepsScanError(`unexpected "${ch}"`);
        capturing = true;
        capture = '';
        start = i;
        depth = 0;
      }
      // Inside a value (most of the document): a tight loop over character codes until the value ends or the
      // text does; `i` is left on the last character it took.
      for (; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (code === BACKSLASH) escaped = true;
          else if (code === QUOTE) inString = false;
          continue;
        }
        if (code === QUOTE) {
          inString = true;
          continue;
        }
        if (code === OPEN_BRACE || code === OPEN_BRACKET) {
          depth++;
          continue;
        }
        const closesContainer = code === CLOSE_BRACE || code === CLOSE_BRACKET;
        if (closesContainer && depth > 0) {
          depth--;
          if (depth > 0) continue;
          // The value ends with this bracket.
          capture += text.slice(start, i + 1);
          finish();
          start = -1;
          break;
        }
        if (depth === 0 && (code === COMMA || closesContainer || code === SPACE || code === TAB || code === LF || code === CR)) {
          // A scalar ends before this character.
          capture += text.slice(start, i);
          finish();
          start = -1;
          i--; // let the structural character be read again
          break;
        }
      }
    }
    if (capturing && start !== -1) capture += text.slice(start);
  };

  const finish = () => {
    capturing = false;
    if (phase === 'elements') {
      items.push({ kind: 'element', index: index++, text: capture });
      needComma = true;
    }
    else {
      items.push({ kind: 'field', key, text: capture });
      phase = 'after';
    }
    capture = '';
  };

  for await (const chunk of source) {
    feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    yield* items.splice(0);
  }
  feed(decoder.decode());
  if (capturing && depth === 0 && capture.trim() !== '') {
    // A top-level scalar at the very end without a closing brace is malformed anyway.
    throw new StepsScanError('unexpected end of the document');
  }
  yield* items.splice(0);
  if ((phase as string) !== 'done') throw new StepsScanError('unexpected end of the document');
}

/**
 * The top-level `seq` and `attemptId` of a trace line, as `JSON.parse` reads them (undefined when either is missing,
 * not a number / not a string, or the line is not JSON). Lines as the writer makes them
 * (`{"seq":…,"at":"…","runId":"…","nodeId":"…","attemptId":"…",…`) are read from that prefix without parsing the
 * line — the first pass of the steps check reads every line of the trace, and parsing them was a whole extra read.
 * The prefix is used only when no other `"seq"` or `"attemptId"` is in the line (a later duplicate key is what
 * `JSON.parse` keeps); any other line is parsed. A line read this way is not checked to be JSON: an invalid one can
 * only make its attempt look touched later than it is, which delays that step's comparison, never changes it.
 */
export function touchOf(text: string): { seq: number; attemptId: string } | undefined {
  const match = WRITER_PREFIX.exec(text);
  if (match !== null) {
    const rest = match[0].length;
    if (text.indexOf('"seq"', rest) === -1 && text.indexOf('"attemptId"', rest) === -1) {
      return match[2] === undefined ? undefined : { seq: Number(match[1]), attemptId: match[2] };
    }
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = value as { seq?: unknown; attemptId?: unknown } | null;
  return e && typeof e.seq === 'number' && typeof e.attemptId === 'string' ? { seq: e.seq, attemptId: e.attemptId } : undefined;
}

/** The envelope as the trace writer starts every line; strings without escapes (their text is their value). */
const WRITER_PREFIX = /^\{"seq":([1-9][0-9]{0,14}),"at":"[^"\\]*","runId":"[^"\\]*"(?:,"nodeId":"[^"\\]*")?(?:,"attemptId":"([^"\\]*)")?/;

/** Seq of the last trace event of every attempt, in 4 bytes per attempt (`node#n` → per-node arrays). */
export class LastTouch {
  private readonly byNode = new Map<string, Int32Array>();

  private slot(attemptId: string): [Int32Array, number] | undefined {
    const hash = attemptId.lastIndexOf('#');
    const n = Number(attemptId.slice(hash + 1));
    if (hash <= 0 || !Number.isInteger(n) || n < 1) return undefined;
    const node = attemptId.slice(0, hash);
    let array = this.byNode.get(node);
    if (!array || array.length <= n) {
      const grown = new Int32Array(Math.max(16, n * 2));
      if (array) grown.set(array);
      this.byNode.set(node, (array = grown));
    }
    return [array, n];
  }

  set(attemptId: string, seq: number): void {
    const slot = this.slot(attemptId);
    if (slot) slot[0][slot[1]] = seq;
  }

  get(attemptId: string): number {
    const slot = this.slot(attemptId);
    return slot ? slot[0][slot[1]]! : 0;
  }
}

export interface StepsProblem {
  pointer: string;
  message: string;
}

interface Pending {
  attemptId: string;
  state: ProjectionState;
  final: boolean;
}

/**
 * Compares steps.json with the trace as the trace is folded: `add` every event (in order); `finish` at the end.
 * Elements of steps.json are pulled one at a time from the scanner.
 */
export class StepsComparer {
  private readonly pending: Pending[] = [];
  private readonly byId = new Map<string, Pending>();
  private compared = 0;
  private done = false;
  private reported = false;

  constructor(
    private readonly elements: AsyncIterator<StepsItem>,
    /** The seq steps.json says it reflects. */
    private readonly seq: number,
    private readonly touches: LastTouch,
    private readonly report: (problem: StepsProblem) => void,
  ) {}

  /** Folds one event into its attempt's own state; steps that can no longer change are compared. */
  async add(event: ReducibleEvent): Promise<void> {
    if (event.seq > this.seq || this.done) return;
    const id = event.attemptId;
    if (id !== undefined) {
      let pending = this.byId.get(id);
      if (!pending && event.type === 'node.started') {
        pending = { attemptId: id, state: initialState(), final: false };
        this.pending.push(pending);
        this.byId.set(id, pending);
      }
      if (pending && !pending.final) {
        // Only this attempt's events: the step is what the whole-run fold would make of it.
        pending.state = reduce(pending.state, event);
        if (this.touches.get(id) <= event.seq) pending.final = true;
      }
    }
    if (event.seq === this.seq) {
      for (const p of this.pending) p.final = true;
      this.done = true;
    }
    await this.drain();
  }

  /** Everything left is compared; then steps.json must have no more elements. */
  async finish(): Promise<void> {
    for (const p of this.pending) p.final = true;
    await this.drain();
    for (;;) {
      const next = await this.nextElement();
      if (!next) break;
      this.problem(`/steps/${next.index}`, `differs from the fold of the trace up to seq ${this.seq} (an attempt the trace does not have)`);
    }
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && this.pending[0]!.final) {
      const p = this.pending.shift()!;
      this.byId.delete(p.attemptId);
      const step = getStep(p.state, p.attemptId);
      const index = this.compared++;
      const element = await this.nextElement();
      if (!element) {
        this.problem(`/steps/${index}`, `differs from the fold of the trace up to seq ${this.seq} (missing: ${p.attemptId})`);
        continue;
      }
      if (!step) continue;
      const expected = JSON.stringify(step);
      // The recorder writes each step as JSON.stringify does: the same text is the same step (parsing and
      // rendering it again gives that text back), with no parse. Any other text is compared as JSON.
      if (element.text === expected) continue;
      const actual = JSON.parse(element.text) as unknown;
      if (JSON.stringify(actual) !== expected) {
        this.problem(`/steps/${index}${firstDifference(actual, JSON.parse(expected))}`, `differs from the fold of the trace up to seq ${this.seq}`);
      }
    }
  }

  private async nextElement(): Promise<{ index: number; text: string } | undefined> {
    for (;;) {
      const next = await this.elements.next();
      if (next.done) return undefined;
      if (next.value.kind === 'element') return next.value;
    }
  }

  /** The first difference is the one to report (the rest usually follow from it), as for the other projections. */
  private problem(pointer: string, message: string): void {
    if (this.reported) return;
    this.reported = true;
    this.report({ pointer, message: `${pointer}: ${message}` });
  }
}

/** Validates steps.json while streaming it once: header fields and every element, against the v1 schemas. */
export async function validateStepsDocument(
  file: string,
  path: string,
): Promise<{ ok: true; seq: number; runId?: string; count: number } | { ok: false; message: string; pointer?: string } | { ok: 'unscannable' }> {
  const header: Record<string, unknown> = {};
  let count = 0;
  const Header = StepsProjection.omit({ steps: true });
  try {
    for await (const item of scanArrayDocument(createReadStream(file, { highWaterMark: 64 * 1024 }), 'steps')) {
      if (item.kind === 'field') {
        header[item.key] = JSON.parse(item.text);
        continue;
      }
      count++;
      const value = JSON.parse(item.text) as unknown;
      // zod only for an element the fast check cannot vouch for: it says what is wrong, if anything.
      if (isPlainlyValidStep(value)) continue;
      const parsed = Step.safeParse(value);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const pointer = `/steps/${item.index}${issue ? toPointer(issue.path) : ''}`;
        return { ok: false, pointer, message: `${path}: ${pointer}: ${issue?.message ?? 'invalid'}` };
      }
    }
  } catch (error) {
    if (error instanceof StepsScanError || error instanceof SyntaxError || error instanceof RangeError) return { ok: 'unscannable' };
    throw error;
  }
  if (!('steps' in header) && count === 0) {
    // The scanner saw no `steps` array: let the whole-document path report exactly what is wrong.
    return { ok: 'unscannable' };
  }
  checkSchemaId(header, SCHEMA_IDS.steps, path);
  const parsed = Header.safeParse(header);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const pointer = issue ? toPointer(issue.path) : '';
    return { ok: false, pointer, message: `${path}: ${pointer || '/'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, seq: parsed.data.seq, runId: parsed.data.runId, count };
}

/** A finished step's stand-in in the whole-run fold once nothing can change it (one shared object per status). */
const STUBS = new Map<string, Step>();
const STUB_SET = new WeakSet<Step>();
export function isStub(step: Step | undefined): boolean {
  return step !== undefined && STUB_SET.has(step);
}
export function stubFor(step: Step): Step {
  let stub = STUBS.get(step.status);
  if (!stub) {
    stub = Object.freeze({ ...step, attemptId: '#stub#1', nodeId: '', turns: [], artifacts: [] }) as Step;
    STUBS.set(step.status, stub);
    STUB_SET.add(stub);
  }
  return stub;
}
