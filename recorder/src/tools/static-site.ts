/**
 * `flowtape view --static <bundle|bundle.zip|runs-root> -o <dir>`: a folder any static file host or object-storage
 * bucket can serve, with no flowtape server behind it. Layout:
 *
 *   index.html, assets/…   the prebuilt viewer app; index.html names the site index in a <meta>
 *   flowtape-site.json     { schema, name, bundles: [{ id, path, files, complete, status }] } (a host cannot list folders)
 *   bundle/…               the bundle (a directory or a .zip); for a runs root, runs/<run folder>/… per run
 *
 * Each bundle is copied — its files and only the artifacts its trace and conversations reference (what `pack`
 * takes) — and the copy is checked by `flowtape verify`'s checks before anything else is written: an invalid copy of
 * a finished run is never published. An unfinished run (still being written, or its writer died) is published as far
 * as it got, marked unfinished, with what verify found (a live run's snapshots lag its trace by design).
 * The output must be a missing path or an empty folder (no command replaces what it did not create); on failure what
 * was written is removed, and index.html, the site's entry point, is written last.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, realpath, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { once } from 'node:events';
import { BUNDLE_FILES, loadManifest, type BundleBackend } from '@flowtape/schema';
import { FsBundleBackend, openBundle } from './fs-backend.ts';
import { outputProblem } from './fresh-output.ts';
import { listRuns } from './list-runs.ts';
import { bundleFiles, referencedArtifacts } from './pack.ts';
import { verifyBundle } from './verify.ts';
import { SITE_INDEX, copyApp, writeAppIndex } from './static-site-app.ts';

export class StaticSiteError extends Error {
  override name = 'StaticSiteError';
}

export interface StaticSiteOptions {
  /** The folder to create (or an empty one). */
  output: string;
  /** The built viewer app (its index.html and assets/). */
  appDir: string;
  /** The app's Content-Security-Policy (the viewer server's), written into the site's index.html. */
  csp: string;
}

export interface SiteBundleReport {
  /** What the site's `?run=` names: the run id (one bundle) or the run's folder name (runs root). */
  id: string;
  source: string;
  /** The bundle's folder inside the site. */
  path: string;
  runId: string;
  status: string;
  complete: boolean;
  files: number;
  artifacts: number;
  bytes: number;
}

export interface StaticSiteReport {
  output: string;
  name: string;
  bundles: SiteBundleReport[];
  app: { files: number; bytes: number };
  warnings: string[];
}

/** The site index (viewer/src/backend/static.ts reads it: SiteIndex there). */
interface SiteIndex {
  schema: 'flowtape.static-site.v1';
  name: string;
  bundles: {
    id: string;
    path: string;
    files: string[];
    complete: boolean;
    status: string;
    // For the run list of a multi-run site.
    runId: string;
    flow: string;
    startedAt: string;
    endedAt?: string;
    events: number;
  }[];
}

/**
 * Bundle files a static host may serve as they are. Anything else (.html, .svg, .js…) a host could serve as a page
 * that runs script in the site's origin if opened directly; `flowtape view` sandboxes such files, a static host
 * cannot. The recorder itself writes only these.
 */
const SAFE_EXTENSIONS = new Set(['', '.json', '.ndjson', '.txt', '.md', '.log', '.png', '.jpg', '.gif', '.webp', '.wav', '.mp3', '.ogg', '.bin']);

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

interface Input {
  location: string;
  /** Folder inside the site. */
  path: string;
  /** Runs root: the run's folder name. */
  id?: string;
}

/** What `input` is: one bundle (directory or .zip) or a runs root (its bundles). */
async function inputBundles(input: string): Promise<{ name: string; bundles: Input[]; dir?: string }> {
  let st;
  try {
    st = await stat(input);
  } catch {
    throw new StaticSiteError(`${input}: no such bundle, runs directory or .zip`);
  }
  const name = basename(resolve(input)).replace(/\.zip$/i, '').replace(/\.flowtape$/, '');
  if (st.isFile()) {
    if (extname(input).toLowerCase() !== '.zip') throw new StaticSiteError(`${input}: not a bundle directory, runs directory or .zip`);
    return { name, bundles: [{ location: input, path: 'bundle' }] };
  }
  if (!st.isDirectory()) throw new StaticSiteError(`${input}: not a bundle directory, runs directory or .zip`);
  const dir = await realpath(input);
  const has = (file: string) => stat(join(input, file)).then(() => true, () => false);
  if ((await has(BUNDLE_FILES.manifest)) || (await has(BUNDLE_FILES.trace))) return { name, dir, bundles: [{ location: input, path: 'bundle' }] };
  const runs = await listRuns(input);
  if (runs.length === 0) throw new StaticSiteError(`${input}: no bundle in it (neither a bundle directory nor a runs directory holding one)`);
  for (const run of runs) if (run.problem) throw new StaticSiteError(`${run.path}: ${run.problem}; not published (publish the other runs one by one)`);
  return { name, dir, bundles: runs.map((run) => ({ location: run.path, path: `runs/${basename(run.path)}`, id: basename(run.path) })) };
}

/**
 * Copies one bundle file. For a run still being written, a line cut short at the end of an .ndjson file is the
 * next line being appended, not part of the snapshot: it is left out.
 */
async function copyBundleFile(backend: BundleBackend, path: string, dest: string, unfinished: boolean): Promise<number | undefined> {
  const ext = extname(path).toLowerCase();
  if (!SAFE_EXTENSIONS.has(ext)) {
    throw new StaticSiteError(`${path}: not published: a static host could serve a ${ext} file as a page that runs script`);
  }
  const source = await backend.readStream(path);
  if (!source) return undefined;
  const to = join(dest, ...path.split('/'));
  await mkdir(dirname(to), { recursive: true });
  const out = createWriteStream(to, { flags: 'wx' });
  let bytes = 0;
  let lineEnd = 0;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const nl = data.lastIndexOf(10);
      if (nl >= 0) lineEnd = bytes + nl + 1;
      bytes += data.length;
      if (!out.write(data)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (unfinished && ext === '.ndjson' && lineEnd < bytes) {
    await truncate(to, lineEnd);
    return lineEnd;
  }
  return bytes;
}

function formatError(location: string, error: unknown): unknown {
  if (!(error instanceof Error) || (error.name !== 'BundleFormatError' && error.name !== 'NewerFormatError')) return error;
  const message = error.message.split('\n')[0]!;
  if (message === `${BUNDLE_FILES.manifest}: missing`) return new StaticSiteError(`${location}: not a flowtape bundle (no ${BUNDLE_FILES.manifest})`);
  return new StaticSiteError(message.startsWith(location) ? message : `${location}: ${message}`);
}

/** Copies and verifies one bundle into `<output>/<input.path>`. */
async function publishBundle(input: Input, output: string, warnings: string[]): Promise<{ report: SiteBundleReport; entry: SiteIndex['bundles'][number] }> {
  const { location } = input;
  const dest = join(output, ...input.path.split('/'));
  try {
    const backend = await openBundle(location);
    const manifest = await loadManifest(backend);
    const unfinished = !manifest.complete;
    const { required, optional } = bundleFiles(manifest);
    // Manifest, projections and session files before the trace: each reflects no more than what is copied after it.
    const order = [required[0]!, ...optional, ...required.slice(1)];
    const files: string[] = [];
    let bytes = 0;
    for (const path of order) {
      const copied = await copyBundleFile(backend, path, dest, unfinished);
      if (copied === undefined && required.includes(path)) throw new StaticSiteError(`${location}: ${path}: missing; not published (run flowtape verify)`);
      if (copied !== undefined) {
        files.push(path);
        bytes += copied;
      }
    }
    // The artifacts the copied trace and conversations reference (a live run's later ones are not part of the copy).
    let artifacts = 0;
    for (const path of (await referencedArtifacts(new FsBundleBackend(dest), manifest)).keys()) {
      const copied = await copyBundleFile(backend, path, dest, false);
      if (copied === undefined) continue; // verify names it
      files.push(path);
      bytes += copied;
      artifacts++;
    }
    const verdict = await verifyBundle(dest, { maxProblems: 1 });
    const problem = verdict.problems[0]?.message ?? 'invalid';
    if (!verdict.ok && !unfinished) {
      const count = verdict.problems.length + verdict.moreProblems;
      throw new StaticSiteError(`${location}: not published: ${problem} (\`flowtape verify ${location}\` lists ${count === 1 ? 'it' : `all ${count}`})`);
    }
    if (unfinished) {
      // A run still being written has snapshots (record.json, projections, manifest) that lag its trace by design
      // (the recorder throttles them): its copy is published as it is, marked unfinished, as `flowtape view` shows it.
      const lag = verdict.ok ? '' : ` (its snapshots lag its trace: ${problem})`;
      warnings.push(`${location}: the run is not complete (status ${manifest.status}); published as recorded so far, up to seq ${verdict.summary.lastSeq}, marked unfinished${lag}`);
    }
    const report: SiteBundleReport = {
      id: input.id ?? manifest.runId,
      source: location,
      path: input.path,
      runId: manifest.runId,
      status: manifest.status,
      complete: manifest.complete,
      files: files.length,
      artifacts,
      bytes,
    };
    const entry = {
      id: report.id, path: input.path, files: files.sort(), complete: manifest.complete, status: manifest.status,
      runId: manifest.runId, flow: manifest.flowName, startedAt: manifest.createdAt,
      ...(manifest.endedAt ? { endedAt: manifest.endedAt } : {}), events: verdict.summary.events,
    };
    return { report, entry };
  } catch (error) {
    throw formatError(location, error);
  }
}

export async function writeStaticSite(input: string, options: StaticSiteOptions): Promise<StaticSiteReport> {
  const output = resolve(options.output);
  if (!(await stat(join(options.appDir, 'index.html')).then((s) => s.isFile(), () => false))) {
    throw new StaticSiteError(`the viewer app is not built (${join(options.appDir, 'index.html')} missing): run \`pnpm build\``);
  }
  const problem = await outputProblem(output, 'folder');
  if (problem) throw new StaticSiteError(`${output}: ${problem}; choose another -o or empty it first (a site is never written over other files)`);
  const source = await inputBundles(input);
  if (source.dir && isInside(source.dir, output)) throw new StaticSiteError(`${output}: the site cannot be written inside what it publishes (${input})`);

  let created = false;
  try {
    await mkdir(output);
    created = true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StaticSiteError(`${output}: its parent folder does not exist`);
    if (code !== 'EEXIST') throw error;
  }
  // What this run put in an existing empty folder, to take out again on failure.
  const before = new Set(created ? [] : await readdir(output));
  try {
    const warnings: string[] = [];
    const bundles: SiteBundleReport[] = [];
    const index: SiteIndex = { schema: 'flowtape.static-site.v1', name: source.name, bundles: [] };
    for (const bundle of source.bundles) {
      const { report, entry } = await publishBundle(bundle, output, warnings);
      bundles.push(report);
      index.bundles.push(entry);
    }
    const app = await copyApp(options.appDir, output);
    await writeFile(join(output, SITE_INDEX), JSON.stringify(index) + '\n', { flag: 'wx' });
    app.bytes += await writeAppIndex(options.appDir, output, options.csp);
    app.files += 1;
    return { output, name: source.name, bundles, app, warnings };
  } catch (error) {
    if (created) await rm(output, { recursive: true, force: true });
    else for (const entry of await readdir(output).catch(() => [])) if (!before.has(entry)) await rm(join(output, entry), { recursive: true, force: true });
    throw error;
  }
}
