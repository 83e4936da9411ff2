/**
 * steps.json read once by `verify` (see verify-steps.ts): its header is read and checked before the trace is folded,
 * and its elements are validated as the fold compares them, not in a pass of their own.
 *
 * Validating every element first (JSON.parse and a schema check each) was a second scan of a document of tens of MB
 * and a fifth of verify's time. An element whose text is the JSON text of the reducer's step for it is valid exactly
 * when that step is (the text parses to the same value): the plain check of an object already made is all it takes.
 * Any other element is parsed and checked as before. When anything is wrong with the document — an invalid element,
 * a field after the steps, text the scanner cannot read — the verdict and the message are the ones the full
 * validation first gives, so `verifyBundle` starts again that way ({@link StepsRecheck}): the cost of a broken
 * steps.json, never of a good one.
 */
import { createReadStream } from 'node:fs';
import { SCHEMA_IDS, Step, StepsProjection, checkSchemaId, isPlainlyValidStep } from '@flowtape/schema';
import { StepsScanError, scanArrayDocumentBatches, type StepsItem } from './json-array-scan.ts';

/** `take`/`peek` found no item read yet: `await fill()`, then ask again. */
export const WAIT: unique symbol = Symbol('wait');

/** steps.json is not plainly valid: verify it again, validating the whole document before the fold. */
export class StepsRecheck extends Error {
  override name = 'StepsRecheck';
}

/** The scanner's items, taken one at a time without an `await` while the chunk read last has more. */
export class StepsItems {
  private batch: StepsItem[] = [];
  private at = 0;
  private ended = false;

  constructor(private readonly batches: AsyncGenerator<StepsItem[]>) {}

  static ofFile(file: string): StepsItems {
    return new StepsItems(scanArrayDocumentBatches(createReadStream(file, { highWaterMark: 64 * 1024 }), 'steps'));
  }

  /** The next item (kept), undefined after the last, WAIT when the next chunk must be read first. */
  peek(): StepsItem | undefined | typeof WAIT {
    if (this.at < this.batch.length) return this.batch[this.at]!;
    return this.ended ? undefined : WAIT;
  }

  /** The next item (taken), as `peek`. */
  take(): StepsItem | undefined | typeof WAIT {
    if (this.at < this.batch.length) return this.batch[this.at++]!;
    return this.ended ? undefined : WAIT;
  }

  /** Reads the next chunk; throws what the scanner throws on a document it cannot read. */
  async fill(): Promise<void> {
    const next = await this.batches.next();
    if (next.done) this.ended = true;
    else {
      this.batch = next.value;
      this.at = 0;
    }
  }

  /** Stops reading (closes the file) when the rest is not wanted. */
  async close(): Promise<void> {
    await this.batches.return(undefined);
  }
}

/** The header fields of steps.json, parsed as the full validation parses them (a repeated key: the last one). */
export function addHeaderField(header: Record<string, unknown>, item: { key: string; text: string }): void {
  header[item.key] = JSON.parse(item.text);
}

/**
 * The header of steps.json when every field of it comes before the first step and it is valid: its seq and runId, and
 * the items from the first step on. Undefined when anything is unusual (the caller validates the whole document,
 * which says what is wrong, if anything).
 */
export async function readStepsHeader(file: string): Promise<{ seq: number; runId?: string; items: StepsItems } | undefined> {
  const items = StepsItems.ofFile(file);
  const header: Record<string, unknown> = {};
  try {
    for (;;) {
      const item = items.peek();
      if (item === WAIT) {
        await items.fill();
        continue;
      }
      if (item === undefined) break; // no steps at all: the whole-document path
      if (item.kind === 'element') {
        checkSchemaId(header, SCHEMA_IDS.steps, 'steps');
        const parsed = StepsProjection.omit({ steps: true }).safeParse(header);
        if (!parsed.success) break;
        return { seq: parsed.data.seq, runId: parsed.data.runId, items };
      }
      addHeaderField(header, item);
      items.take();
    }
  } catch {
    // A scan error, a field that is not JSON, a newer schema id: all said by the whole validation.
  }
  await items.close();
  return undefined;
}

/**
 * Validates one element of steps.json by its text, as the full validation does; its parsed value when valid, else
 * throws StepsRecheck.
 */
export function validElement(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (isPlainlyValidStep(value) || Step.safeParse(value).success) return value;
  } catch (error) {
    if (!(error instanceof SyntaxError || error instanceof RangeError || error instanceof StepsScanError)) throw error;
  }
  throw new StepsRecheck('steps.json: an element is not plainly valid');
}

/** Every item left is validated (the fold did not take them all, e.g. the trace is missing). */
export async function validateRest(items: StepsItems): Promise<void> {
  for (;;) {
    const item = items.take();
    if (item === WAIT) {
      try {
        await items.fill();
      } catch (error) {
        throw asRecheck(error);
      }
      continue;
    }
    if (item === undefined) return;
    if (item.kind === 'field') throw new StepsRecheck('steps.json: a field after the steps');
    validElement(item.text);
  }
}

/** What the scanner throws on a broken document, as a reason to validate it whole. */
export function asRecheck(error: unknown): unknown {
  return error instanceof StepsScanError || error instanceof SyntaxError || error instanceof RangeError ? new StepsRecheck(String(error)) : error;
}
