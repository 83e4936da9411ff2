/**
 * `flowtape pack`: one `.zip` to share a run. Layout (what `flowtape view x.zip` and the viewer's drop zone read):
 *
 *   manifest.json                  at the root of the zip, no enclosing folder
 *   flow.json, trace.ndjson        where manifest.files says (the default layout)
 *   projections/{run,live,steps}.json
 *   sessions/<id>/{binding,record}.json, sessions/<id>/events.ndjson   for every session in manifest.sessions
 *   artifacts/sha256-<hex>.<ext>   only the artifacts the trace and the sessions' record.json reference
 *
 * Entries are deflated (already-compressed media stored), streamed file by file to a temporary file renamed into
 * place; their dates are the run's `updatedAt`, so packing the same bundle twice gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import { BUNDLE_FILES, SessionRecord, loadManifest, loadTrace, sessionFiles, type BundleBackend, type Manifest, type ReadIssue } from '@flowtape/schema';
import { FsBundleBackend, checkBundleRelative } from './fs-backend.ts';
import { outputProblem } from './fresh-output.ts';

export class PackError extends Error {
  override name = 'PackError';
}

export interface PackOptions {
  /** The zip to write (default `<bundle folder name>.flowtape.zip` in the current directory). */
  output?: string;
  /** Called after each file is added (progress on big bundles). */
  onFile?: (path: string, bytes: number) => void;
}

export interface PackReport {
  output: string;
  files: string[];
  artifacts: number;
  /** Bytes of the bundle files packed, and of the zip. */
  inputBytes: number;
  zipBytes: number;
  /** Artifacts the trace references that are not in the bundle (packed without them). */
  missing: string[];
  /** Things the receiver should know: an incomplete run, a torn trace. */
  warnings: string[];
}

const ARTIFACT_PATH = /^artifacts\/sha256-[0-9a-f]{64}(?:\.[a-z0-9]{1,16})?$/;
const STORED = /^(image\/(png|jpeg|gif|webp)|application\/(zip|gzip|x-gzip|zstd)|video\/|audio\/)/;

/** Every artifact path referenced anywhere in a JSON value (ArtifactRefs: `{ path, sha256, … }`). */
function collectArtifacts(value: unknown, out: Map<string, string | undefined>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectArtifacts(item, out);
  } else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.path === 'string' && typeof record.sha256 === 'string' && ARTIFACT_PATH.test(record.path)) {
      out.set(record.path, typeof record.mediaType === 'string' ? record.mediaType : undefined);
    }
    for (const child of Object.values(record)) collectArtifacts(child, out);
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function defaultPackName(bundleDir: string): string {
  return `${basename(resolve(bundleDir))}.flowtape.zip`;
}

/** The bundle's format errors (`manifest.json: missing`, …) name a file inside it; say which bundle too. */
function bundleError(location: string, error: unknown): unknown {
  if (!(error instanceof Error) || (error.name !== 'BundleFormatError' && error.name !== 'NewerFormatError')) return error;
  const message = error.message.split('\n')[0]!;
  if (message === `${BUNDLE_FILES.manifest}: missing`) return new PackError(`${location}: not a flowtape bundle (no ${BUNDLE_FILES.manifest})`);
  return new PackError(message.startsWith(`${location}: `) ? message : `${location}: ${message}`);
}

/**
 * The artifacts a bundle's trace and its sessions' record.json reference (path → media type): what `pack` and
 * `view --static` publish of artifacts/. The trace is streamed, not held.
 */
export async function referencedArtifacts(
  backend: BundleBackend,
  manifest: Manifest,
  onIssue?: (issue: ReadIssue) => void,
): Promise<Map<string, string | undefined>> {
  const artifacts = new Map<string, string | undefined>();
  for await (const { event } of loadTrace(backend, manifest, { onIssue })) collectArtifacts(event.payload, artifacts);
  // And those the conversations name: images, audio and embedded blobs of messages.
  for (const { sessionId } of manifest.sessions) {
    const record = SessionRecord.safeParse(parseJson(await backend.readText(sessionFiles(sessionId).record)));
    for (const entry of record.success ? record.data.messages : []) {
      if (entry.role !== 'agent' && entry.role !== 'user' && entry.role !== 'thought') continue;
      for (const { artifact } of entry.content ?? []) if (artifact) artifacts.set(artifact.path, artifact.mediaType);
    }
  }
  return artifacts;
}

export async function packBundle(location: string, options: PackOptions = {}): Promise<PackReport> {
  let st;
  try {
    st = await stat(location);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PackError(`${location}: no such bundle directory`);
    throw new PackError(`${location}: cannot read the bundle directory (${code ?? (error as Error).message})`);
  }
  if (!st.isDirectory()) throw new PackError(`${location}: not a bundle directory`);
  try {
    return await packDirectory(location, options);
  } catch (error) {
    throw bundleError(location, error);
  }
}

async function packDirectory(location: string, options: PackOptions): Promise<PackReport> {
  const backend = new FsBundleBackend(location);
  const manifest = await loadManifest(backend);
  const output = resolve(options.output ?? defaultPackName(location));
  if (output.startsWith(backend.dir + '/')) throw new PackError(`${output}: the zip cannot be written inside the bundle it packs`);
  // pack never replaces a file: it cannot tell a zip it made before from a file of the user's.
  const problem = await outputProblem(output, 'file');
  if (problem) throw new PackError(`${output}: ${problem}; choose another -o or remove it first`);
  const warnings: string[] = [];
  if (!manifest.complete) warnings.push(`${location}: the run is not complete (status ${manifest.status}); packed as it is`);

  const artifacts = await referencedArtifacts(backend, manifest, (issue) => {
    if (warnings.length < 20) warnings.push(issue.message);
  });

  const files = bundleFiles(manifest);
  const report: PackReport = { output, files: [], artifacts: 0, inputBytes: 0, zipBytes: 0, missing: [], warnings };
  const mtime = new Date(manifest.updatedAt);
  const temp = `${output}.${process.pid}.${createHash('sha1').update(output).digest('hex').slice(0, 8)}.tmp`;
  const handle = await open(temp, 'wx');
  let failed = true;
  try {
    const queue: Uint8Array[] = [];
    let zipError: Error | undefined;
    const zip = new Zip((error, chunk) => {
      if (error) zipError = error;
      else queue.push(chunk);
    });
    const drain = async () => {
      if (zipError) throw zipError;
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        report.zipBytes += chunk.length;
        await handle.write(chunk);
      }
    };
    const add = async (path: string, mediaType?: string): Promise<boolean> => {
      checkBundleRelative(path);
      const source = await backend.readStream(path);
      if (!source) return false;
      const entry = mediaType && STORED.test(mediaType) ? new ZipPassThrough(path) : new ZipDeflate(path, { level: 6 });
      entry.mtime = mtime;
      zip.add(entry);
      let bytes = 0;
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        entry.push(chunk);
        await drain();
      }
      entry.push(new Uint8Array(0), true);
      await drain();
      report.files.push(path);
      report.inputBytes += bytes;
      options.onFile?.(path, bytes);
      return true;
    };
    for (const path of files.required) {
      if (!(await add(path))) throw new PackError(`${location}: ${path}: missing; the bundle cannot be packed (run flowtape verify)`);
    }
    for (const path of files.optional) {
      if (!(await add(path))) warnings.push(`${path}: missing (not packed)`);
    }
    for (const [path, mediaType] of [...artifacts].sort(([a], [b]) => a.localeCompare(b))) {
      if (await add(path, mediaType)) report.artifacts++;
      else report.missing.push(path);
    }
    zip.end();
    await drain();
    await handle.sync();
    failed = false;
  } finally {
    await handle.close();
    if (failed) await rm(temp, { force: true });
  }
  await publish(temp, output);
  return report;
}

/**
 * Moves the finished zip to `output` only if nothing is there: a hard link fails on an existing name (where the
 * filesystem has no hard links, a rename after a last check). The temporary file is removed either way.
 */
async function publish(temp: string, output: string): Promise<void> {
  try {
    await link(temp, output);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      await rm(temp, { force: true });
      throw new PackError(`${output}: appeared while packing; not replaced (choose another -o)`);
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') {
      await rm(temp, { force: true });
      throw error;
    }
    const problem = await outputProblem(output, 'file');
    if (problem) {
      await rm(temp, { force: true });
      throw new PackError(`${output}: ${problem}; not replaced (choose another -o)`);
    }
    await rename(temp, output);
    return;
  }
  await rm(temp, { force: true });
}

/** The files of a bundle besides its artifacts: those it cannot be read without, and the rest. */
export function bundleFiles(manifest: Manifest): { required: string[]; optional: string[] } {
  const required = [BUNDLE_FILES.manifest, manifest.files.flow, manifest.files.trace];
  const optional = [manifest.files.run, manifest.files.live, manifest.files.steps];
  for (const { sessionId } of manifest.sessions) {
    const s = sessionFiles(sessionId);
    optional.push(s.binding, s.record, s.events);
  }
  return { required, optional: [...new Set(optional)] };
}
