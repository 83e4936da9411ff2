// The acpx run directory as the importer reads it: every path confined to it (no symlink out), its JSON and NDJSON
// documents read leniently (what is missing or broken is a warning, or an ImportError where the import needs it), its
// trace events and step projection as plain values.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleFormatError, bundlePathProblem, printablePath, readNdjson as streamNdjson } from '@flowtape/schema';
import { FsBundleBackend } from './fs-backend.ts';
import { asObject, ImportError, str, type AcpxEvent, type Json } from './import-acpx-values.ts';

export class AcpxRunFiles {
  private readonly sourceDir: FsBundleBackend;

  constructor(
    dir: string,
    private readonly label: string,
    private readonly warn: (message: string) => void,
  ) {
    this.sourceDir = new FsBundleBackend(dir);
  }

  /**
   * The real file for a path of the acpx run, or undefined when it is missing. Paths come from its manifest and
   * trace, so they are checked like bundle paths, and a symlink leading out of the run directory is refused before
   * anything is read through it (nothing outside may end up in the bundle or in a message).
   */
  async source(path: string): Promise<string | undefined> {
    const problem = bundlePathProblem(path);
    if (problem) throw new ImportError(`${this.label}: ${printablePath(path)} is not a path inside the acpx run directory (${problem})`);
    try {
      return await this.sourceDir.resolveFile(path);
    } catch (error) {
      if (error instanceof BundleFormatError) {
        throw new ImportError(`${join(this.label, path)}: leads outside the acpx run directory (symlink); not read`);
      }
      throw error;
    }
  }

  async readText(path: string): Promise<string | undefined> {
    const file = await this.source(path);
    return file === undefined ? undefined : readFile(file, 'utf8').catch(() => undefined);
  }

  async readJson(path: string, required: true): Promise<Json>;
  async readJson(path: string, required: false): Promise<Json | undefined>;
  async readJson(path: string, required: boolean): Promise<Json | undefined> {
    const text = await this.readText(path);
    if (text === undefined) {
      if (required) throw new ImportError(`${join(this.label, path)}: missing`);
      this.warn(`${path}: missing`);
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const why = (error as Error).message.split('\n')[0];
      if (required) throw new ImportError(`${join(this.label, path)}: not valid JSON (${why})`);
      this.warn(`${path}: not valid JSON (${why}); ignored`);
      return undefined;
    }
    const object = asObject(value);
    if (!object) {
      if (required) throw new ImportError(`${join(this.label, path)}: not a JSON object`);
      return undefined;
    }
    return object;
  }

  /** The lines of an NDJSON file, streamed by the schema's reader (an unreadable or missing file has none). */
  async readNdjson(path: string): Promise<Array<{ line: number; value: unknown }>> {
    // Resolved inside the run directory first: a symlink out of it is refused before anything is read.
    const file = await this.source(path);
    if (file === undefined) return [];
    try {
      if (!(await stat(file)).isFile()) return [];
    } catch {
      return [];
    }
    const lines: Array<{ line: number; value: unknown }> = [];
    const issues: string[] = [];
    try {
      for await (const { line, value } of streamNdjson(createReadStream(file), { file: path, onIssue: (issue) => issues.push(issue.message) })) {
        lines.push({ line, value });
      }
    } catch {
      return [];
    }
    for (const message of issues) this.warn(`${message} (skipped)`);
    return lines;
  }

  async readStepsProjection(path: string): Promise<Map<string, Json>> {
    const out = new Map<string, Json>();
    const text = await this.readText(path);
    let value: unknown;
    try {
      value = JSON.parse(text ?? '');
    } catch {
      return out;
    }
    const steps = Array.isArray(value) ? value : Array.isArray(asObject(value)?.steps) ? (asObject(value)!.steps as unknown[]) : [];
    for (const step of steps) {
      const o = asObject(step);
      if (o && typeof o.attemptId === 'string') out.set(o.attemptId, o);
    }
    return out;
  }

  parseTrace(lines: Array<{ line: number; value: unknown }>, path: string): AcpxEvent[] {
    const out: AcpxEvent[] = [];
    for (const { line, value } of lines) {
      const o = asObject(value);
      if (!o || typeof o.type !== 'string' || typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) {
        this.warn(`${path}:${line}: not an acpx trace event (no type or at); skipped`);
        continue;
      }
      out.push({
        line,
        seq: typeof o.seq === 'number' ? o.seq : undefined,
        at: new Date(o.at).toISOString(),
        runId: str(o.runId),
        type: o.type,
        nodeId: str(o.nodeId),
        attemptId: str(o.attemptId),
        sessionId: str(o.sessionId),
        payload: asObject(o.payload) ?? {},
      });
    }
    return out;
  }
}
