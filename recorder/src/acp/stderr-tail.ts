// The last bytes of an agent's stderr, recorded or not, and the few lines of them an error message quotes.
import { clip } from './errors.ts';

const stderrTailBytes = 8 * 1024;
/** How many of the last stderr lines an error message quotes, and at most how many characters of them. */
const stderrHintLines = 3;
const stderrHintChars = 300;
/** ANSI escape sequences (CSI: colours, cursor moves; OSC: titles), dropped from stderr quoted in messages. */
const ANSI_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;
/** A stderr line that reads like the cause of a failure, and one that is a frame of a stack trace. */
const CAUSE_LINE = /(error|fatal|panic|denied|cannot|failed|not found)/i;
const TRACE_LINE = /^\s*(\d+:\s|at\s|Stack backtrace|stack backtrace|Traceback)/;

export class StderrTail {
  private tail = Buffer.alloc(0);

  keep(chunk: Buffer): void {
    // A copy, so a big chunk is not kept alive by a small view of it.
    const joined = chunk.length >= stderrTailBytes ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - stderrTailBytes)));
  }

  /**
   * The last lines of the agent's stderr on one line (" | " between them), the latest first kept: up to
   * stderrHintLines lines within stderrHintChars characters. When those are the tail of a backtrace, the latest line
   * that reads like the cause ("Error: …", "fatal: …") goes first, then " … ". Colour and cursor sequences (agents
   * log with ANSI colours) are dropped; other controls are shown escaped (clip).
   */
  hint(): string | undefined {
    const all = this.tail.toString('utf8').split(/\r?\n/);
    // A full tail most likely starts mid-line: that piece is not a line of its own.
    const lines = (this.tail.length >= stderrTailBytes ? all.slice(1) : all)
      .map((l) => clip(l.replace(ANSI_SEQUENCE, ''), stderrHintChars))
      .filter((l) => l !== '');
    const kept: string[] = [];
    let length = 0;
    for (const line of [...lines].reverse()) {
      if (kept.length === stderrHintLines || (kept.length > 0 && length + line.length + 3 > stderrHintChars)) break;
      kept.unshift(line);
      length += line.length + 3;
    }
    if (kept.length === 0) return undefined;
    const cause = lines.slice(0, lines.length - kept.length).reverse().find((l) => CAUSE_LINE.test(l) && !TRACE_LINE.test(l));
    return cause !== undefined && !kept.some((l) => CAUSE_LINE.test(l) && !TRACE_LINE.test(l))
      ? `${clip(cause, stderrHintChars)} … ${kept.join(' | ')}`
      : kept.join(' | ');
  }
}
