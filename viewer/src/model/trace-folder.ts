// Folding trace lines into a timeline, and the issues a trace can raise on the way (invalid lines, seq gaps, events
// the reducer cannot apply, unknown types, a torn last line, a missing trace): shared by a first load and by each
// poll of a live bundle, so both report the same problem with the same words.
import type { BundleIssue } from './bundle-model.ts';
import { loadSchemas } from './lazy-schemas.ts';
import type { Timeline, TimelineBuilder } from './timeline.ts';
import { NEEDS_SCHEMAS, isIssue, parseTraceLine } from './trace-reader.ts';

/** Feeds parsed lines into a timeline builder, collecting issues (invalid lines, seq gaps, reducer failures). */
export class TraceFolder {
  lastSeq: number;
  constructor(readonly builder: TimelineBuilder, readonly file: string, readonly issues: BundleIssue[]) {
    this.lastSeq = builder.events.at(-1)?.seq ?? 0;
  }

  /** Returns a promise only for a line that needed the schemas loaded first (the caller waits for it). */
  line(text: string, line: number): Promise<void> | undefined {
    const parsed = parseTraceLine(text, line, this.file);
    if (parsed === NEEDS_SCHEMAS) return loadSchemas().then(() => void this.line(text, line));
    if (!parsed) return undefined;
    if (isIssue(parsed)) {
      this.issues.push({ file: this.file, line, severity: 'error', message: parsed.message });
      return;
    }
    const seq = parsed.event.seq;
    if (seq !== this.lastSeq + 1) {
      this.issues.push({
        file: this.file,
        line,
        severity: 'warning',
        message: `${this.file}:${line}: seq ${seq} where ${this.lastSeq + 1} was expected`,
      });
    }
    this.lastSeq = seq;
    const failuresBefore = this.builder.failures.length;
    this.builder.push(parsed.event, line);
    const failure = this.builder.failures[failuresBefore];
    if (failure) {
      this.issues.push({
        file: this.file,
        line,
        severity: 'error',
        message: `${this.file}:${line}: ${parsed.event.type}: could not be applied (${failure.message})`,
      });
    }
  }
}

export function unknownTypesIssue(timeline: Timeline, file: string): BundleIssue | undefined {
  const s = timeline.final;
  if (s.unknownEventCount === 0) return undefined;
  return {
    file,
    severity: 'warning',
    message: `${file}: ${s.unknownEventCount} event${s.unknownEventCount === 1 ? '' : 's'} of types this viewer does not know (${s.unknownEventTypes.join(', ')}) — shown raw in the events list`,
  };
}

export function tornIssue(file: string, line: number, text: string): BundleIssue {
  return {
    file,
    line,
    severity: 'warning',
    message: `${file}:${line}: torn last line (${text.length} characters without a newline) — the writer stopped mid-append; everything before it is shown`,
  };
}

export function missingTrace(file: string): string {
  return `${file}: missing — no events to step through`;
}
