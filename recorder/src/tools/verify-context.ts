/**
 * What every part of `flowtape verify` shares: the bundle being checked, the problems and notes found so far, and the
 * helpers that read a bundle file and report what is wrong with it (one line naming the file).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BUNDLE_FILES, BundleFormatError, NewerFormatError, bundlePathProblem, parseDocument, printablePath } from '@flowtape/schema';
import type { VerifyProblem, VerifyReport } from './verify.ts';

/**
 * `complete`: the manifest says every file is final. `live`: not complete, and its writer is running on this machine.
 * `incomplete`: not complete, and no writer is known to be running (waiting at a checkpoint, crashed, or unknown).
 * Snapshots may lag the trace in the last two; in a complete bundle a lag is a problem.
 */
export type VerifyState = 'complete' | 'live' | 'incomplete';

/** The input cannot be verified at all: not a directory, not a bundle, a newer format. */
export class VerifyInputError extends Error {
  override name = 'VerifyInputError';
}

export class VerifyContext {
  readonly root: string;
  rootReal = '';
  readonly problems: VerifyProblem[] = [];
  moreProblems = 0;
  readonly notes: string[] = [];
  readonly summary: VerifyReport['summary'] = { events: 0, lastSeq: 0, sessions: 0, artifacts: 0 };
  /**
   * What the manifest says of the bundle (verify-documents.ts). Until a complete manifest says otherwise, snapshots
   * (projections, session records) are taken to lag the trace only as an unfinished run's may: `complete` is strict.
   */
  state: VerifyState = 'complete';

  constructor(
    readonly dir: string,
    readonly maxProblems: number,
    readonly onProgress?: (events: number) => void,
    /** Validate all of steps.json before the fold (the second try, see verify-steps-items.ts). */
    readonly validateStepsFirst = false,
  ) {
    this.root = resolve(dir);
  }

  add(file: string, text: string, line?: number, pointer?: string): void {
    if (this.problems.length >= this.maxProblems) {
      this.moreProblems++;
      return;
    }
    const where = line === undefined ? file : `${file}:${line}`;
    const message = text.startsWith(`${file}:`) || text.startsWith(`${file} `) ? text : `${where}: ${text}`;
    this.problems.push({ file, ...(line !== undefined ? { line } : {}), ...(pointer ? { pointer } : {}), message });
  }

  /** A torn last line: a problem (`asProblem`), but only a note while the writer may still finish the line. */
  addTorn(file: string, line: number | undefined, message: string, asProblem = message): void {
    if (this.state === 'live') this.notes.push(`${message} (the writer is still appending)`);
    else this.add(file, asProblem, line);
  }

  /**
   * True (and noted) when a snapshot file is absent from a live bundle: its writer has not taken the first snapshot
   * yet. Absent once the writer is gone, it is a problem (`repair` writes it).
   */
  async snapshotNotYet(path: string): Promise<boolean> {
    if (this.state !== 'live' || (await this.resolve(path))) return false;
    this.notes.push(`${path} is not written yet (the run is live)`);
    return true;
  }

  /** A snapshot (projection, session record) behind the file it reflects: allowed until the bundle is complete. */
  addLag(file: string, pointer: string, seq: number, of: string, end: number): void {
    if (this.state === 'complete') this.add(file, `${pointer}: ${seq}, but the complete bundle's ${of} ends at ${end}`, undefined, pointer);
    else this.notes.push(`${file} reflects ${of} up to seq ${seq} of ${end} (written at the last snapshot; the bundle is not complete)`);
  }

  addError(file: string, error: unknown): void {
    if (error instanceof NewerFormatError) throw new VerifyInputError(error.message);
    if (error instanceof BundleFormatError) {
      this.add(error.file || file, error.message, error.line, error.pointer);
      return;
    }
    this.add(file, `cannot read (${oneLine(error)})`);
  }

  async checkInput(): Promise<void> {
    let info;
    try {
      info = await stat(this.root);
    } catch (error) {
      throw new VerifyInputError(`${this.dir}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : oneLine(error)}`);
    }
    if (!info.isDirectory()) throw new VerifyInputError(`${this.dir}: not a directory (verify takes a bundle directory)`);
    this.rootReal = await realpath(this.root);
    try {
      await stat(join(this.root, BUNDLE_FILES.manifest));
    } catch {
      throw new VerifyInputError(`${this.dir}: not a flowtape bundle (no ${BUNDLE_FILES.manifest})`);
    }
  }

  /** Bundle-relative path → absolute file, or undefined when it is missing or leaves the bundle (reported). */
  async resolve(path: string): Promise<string | undefined> {
    const file = resolve(this.root, path);
    try {
      const real = await realpath(file);
      if (!isInside(this.rootReal, real)) {
        this.add(path, 'leads outside the bundle (symlink)');
        return undefined;
      }
      return real;
    } catch {
      return undefined;
    }
  }

  async checkInside(path: string, pointer: string): Promise<void> {
    const problem = bundlePathProblem(path);
    if (problem) {
      this.add(BUNDLE_FILES.manifest, `${pointer}: ${printablePath(path)} is not a path inside the bundle (${problem})`, undefined, pointer);
      return;
    }
    await this.resolve(path);
  }

  async readJson(path: string, required = true): Promise<unknown> {
    const file = await this.resolve(path);
    if (!file) {
      if (required) this.add(path, 'missing');
      return undefined;
    }
    // A FIFO would block the read forever, a directory fails it: say what is there instead.
    if (!(await isRegularFile(file))) {
      this.add(path, 'not a regular file');
      return undefined;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      this.add(path, `cannot read (${oneLine(error)})`);
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      this.add(path, `not valid JSON (${oneLine(error)})`);
      return undefined;
    }
  }

  parse<T>(schema: Parameters<typeof parseDocument>[0], value: unknown, path: string): T | undefined {
    if (value === undefined) return undefined;
    try {
      return parseDocument(schema, value, path) as T;
    } catch (error) {
      this.addError(path, error);
      return undefined;
    }
  }
}

export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

export function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** Streams need a regular file: a directory in its place would fail mid-read (EISDIR). */
export async function isRegularFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
