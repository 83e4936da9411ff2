/**
 * Checking `projections/steps.json` against the trace without holding either — the part of `verify` whose memory
 * would otherwise grow with the run (steps.json of a 100k-event bundle is tens of MB, the fold holds every step).
 *
 *  - steps.json is streamed: a small scanner (json-array-scan.ts) yields the document's top-level fields and each element of its
 *    `steps` array as text, one at a time;
 *  - a step depends only on the trace events that carry its attempt id, so the expected step is the reducer's
 *    fold of those events alone (the same pure `reduce`, on a one-attempt state);
 *  - a first pass over the trace records, per attempt, the seq of the last event that touches it (4 bytes per
 *    attempt); once the fold passes it, the step is final: it is compared with the next element of steps.json,
 *    in order of start, and dropped. The whole-run fold may then replace it by a shared stub.
 */
import { createReadStream } from 'node:fs';
import { StepsScanError, scanArrayDocument } from './json-array-scan.ts';
import { StepsRecheck, WAIT, addHeaderField, asRecheck, validElement, type StepsItems } from './verify-steps-items.ts';
import { TOO_DEEP, firstDifference, jsonTextOrTooDeep } from './json-pointer.ts';
import {
  SCHEMA_IDS,
  Step,
  StepsProjection,
  getStep,
  initialState,
  isPlainlyValidStep,
  isPlainlyValidStepJson,
  reduce,
  toPointer,
  type ProjectionState,
  type ReducibleEvent,
} from '@flowtape/schema';

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
export const WRITER_PREFIX = /^\{"seq":([1-9][0-9]{0,14}),"at":"[^"\\]*","runId":"[^"\\]*"(?:,"nodeId":"[^"\\]*")?(?:,"attemptId":"([^"\\]*)")?/;

/** Seq of the last trace event of every attempt, in 4 bytes per attempt (`node#n` → per-node arrays). */
export class LastTouch {
  private readonly byNode = new Map<string, Int32Array>();
  /** The attempt looked up last and its slot: the fold asks about each event's attempt twice, events come in runs. */
  private lastId: string | undefined;
  private lastSlot: [Int32Array, number] | undefined;

  private slot(attemptId: string): [Int32Array, number] | undefined {
    if (attemptId === this.lastId) return this.lastSlot;
    const slot = this.find(attemptId);
    this.lastId = attemptId;
    this.lastSlot = slot;
    return slot;
  }

  private find(attemptId: string): [Int32Array, number] | undefined {
    const hash = attemptId.lastIndexOf('#');
    const n = Number(attemptId.slice(hash + 1));
    if (hash <= 0 || !Number.isInteger(n) || n < 1) return undefined;
    const node = attemptId.slice(0, hash);
    let array = this.byNode.get(node);
    if (!array || array.length <= n) {
      const grown = new Int32Array(Math.max(16, n * 2));
      if (array) grown.set(array);
      // The one slot remembered (slot()) is replaced by this look-up's, so none points into the array replaced here.
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
 * Elements of steps.json are taken one at a time from the scanner's items; `add` returns a promise only when it had to
 * wait for the next chunk of the file (most events need no element, and the next one is usually read already).
 * With `validate`, steps.json was not validated beforehand: every element is validated as it is taken
 * (verify-steps-items.ts), and anything not plainly valid throws StepsRecheck.
 */
export class StepsComparer {
  private readonly pending: Pending[] = [];
  private readonly byId = new Map<string, Pending>();
  private compared = 0;
  private done = false;
  private reported = false;

  constructor(
    private readonly items: StepsItems,
    /** The seq steps.json says it reflects. */
    private readonly seq: number,
    private readonly touches: LastTouch,
    private readonly report: (problem: StepsProblem) => void,
    private readonly validate = false,
  ) {}

  /** Folds one event into its attempt's own state; steps that can no longer change are compared. */
  add(event: ReducibleEvent): void | Promise<void> {
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
    return this.drain();
  }

  /** Everything left is compared; then steps.json must have no more elements. */
  async finish(): Promise<void> {
    for (const p of this.pending) p.final = true;
    await this.drain();
    for (;;) {
      let next = this.nextElement();
      while (next === WAIT) {
        await this.fill();
        next = this.nextElement();
      }
      if (!next) break;
      if (this.validate) validElement(next.text);
      this.problem(`/steps/${next.index}`, `differs from the fold of the trace up to seq ${this.seq} (an attempt the trace does not have)`);
    }
  }

  private drain(): void | Promise<void> {
    while (this.pending.length > 0 && this.pending[0]!.final) {
      const element = this.nextElement();
      if (element === WAIT) return this.fill().then(() => this.drain());
      const p = this.pending.shift()!;
      this.byId.delete(p.attemptId);
      const step = getStep(p.state, p.attemptId);
      const index = this.compared++;
      if (!element) {
        this.problem(`/steps/${index}`, `differs from the fold of the trace up to seq ${this.seq} (missing: ${p.attemptId})`);
        continue;
      }
      if (!step) {
        if (this.validate) validElement(element.text);
        continue;
      }
      const expected = JSON.stringify(step);
      // The recorder writes each step as JSON.stringify does: the same text is the same step (parsing and
      // rendering it again gives that text back), with no parse. Any other text is compared as JSON. The same
      // text is also valid exactly when the step is (it parses to the same value).
      if (element.text === expected) {
        if (this.validate && !isPlainlyValidStepJson(step)) validElement(element.text);
        continue;
      }
      const actual = this.validate ? validElement(element.text) : (JSON.parse(element.text) as unknown);
      const actualText = jsonTextOrTooDeep(actual);
      if (actualText === TOO_DEEP) {
        this.problem(`/steps/${index}`, `differs from the fold of the trace up to seq ${this.seq} (${TOO_DEEP})`);
        continue;
      }
      if (actualText !== expected) {
        this.problem(`/steps/${index}${firstDifference(actual, JSON.parse(expected))}`, `differs from the fold of the trace up to seq ${this.seq}`);
      }
    }
  }

  /** The next element; a field after the steps is skipped once validated, and unexpected when not. */
  private nextElement(): { index: number; text: string } | undefined | typeof WAIT {
    for (;;) {
      const next = this.items.take();
      if (next === WAIT || next === undefined || next.kind === 'element') return next;
      if (this.validate) throw new StepsRecheck('steps.json: a field after the steps');
    }
  }

  private async fill(): Promise<void> {
    try {
      await this.items.fill();
    } catch (error) {
      throw this.validate ? asRecheck(error) : error;
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
        addHeaderField(header, item);
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
  // A schema id that is missing, another or newer: the whole-document path says so as for every other document
  // (a problem, or a newer format the command cannot read).
  if (header.schema !== SCHEMA_IDS.steps) return { ok: 'unscannable' };
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
