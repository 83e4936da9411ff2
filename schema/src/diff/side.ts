/** One side of a diff: how it is named and opened, and what the diff holds of it while the traces stream by. */
import { loadManifest, loadTrace, type BundleBackend, type ReadIssue, type TraceLine } from '../loader.ts';
import type { Manifest } from '../manifest.ts';
import { RunProjection } from '../projections.ts';
import { RunAccumulator, type AttemptModel } from './model.ts';
import { Normalizer } from './normalize.ts';

/** One side of a diff: a name for people, and how to open it. */
export interface DiffSide {
  /** The bundle as the user named it: shown in the report, and the prefix of its errors. */
  location: string;
  /** Opens the bundle. Called in order (a, a's manifest, then b), so the first bad side is the one reported. */
  open(): Promise<OpenedSide>;
}

export interface OpenedSide {
  backend: BundleBackend;
  /** The bundle's absolute directory on disk, replaced by `<bundle>` in its strings; undefined for a zip. */
  dir?: string;
}

export interface DiffOptions {
  /** JSON pointers or globs of paths not to compare (`--ignore`). */
  ignore?: readonly string[];
  /** How many differences to keep in full, for the summary (run, flow, path) and for the details (attempts,
   *  artifacts, sessions) each; all are counted. Default 1000. */
  maxDetails?: number;
  /** Artifacts up to this size are loaded to compare by content after normalisation. Default 1 MiB. */
  maxArtifactBytes?: number;
  /** Count usage differences (tokens, cost, context window) as behaviour differences (`--usage`). Default false:
   *  they are reported in the `usage` section only and `same` ignores them. */
  usage?: boolean;
  /** The machine the bundles were recorded and read on: its temp and home directories are volatile roots. The CLI
   *  passes `os.tmpdir()` and `os.homedir()`; the viewer gets them from the `flowtape view` server. */
  machine?: { tmpDir?: string; homeDir?: string };
  /** Called every few thousand trace events read (both runs together), for progress on long bundles. */
  onProgress?: (events: number) => void;
}

export interface Side {
  label: 'a' | 'b';
  location: string;
  backend: BundleBackend;
  manifest: Manifest;
  normalizer: Normalizer;
  acc: RunAccumulator;
  trace: AsyncGenerator<TraceLine>;
  done: boolean;
  /** Attempts per node in the whole run, when known up front: lets an attempt the other run lacks go at once. */
  expected?: Map<string, number>;
  pending: Map<string, AttemptModel>;
}

export async function openSide(label: 'a' | 'b', input: DiffSide, options: DiffOptions, warnings: string[]): Promise<Side> {
  const { location } = input;
  const { backend, dir } = await input.open();
  const manifest = await loadManifest(backend).catch((error: unknown) => rethrowIn(location, error));
  const normalizer = new Normalizer({ bundleDir: dir, tmpDir: options.machine?.tmpDir, homeDir: options.machine?.homeDir });
  normalizer.addToken(manifest.runId, '<run-id>');
  const onIssue = (issue: ReadIssue) => {
    if (warnings.length < 50) warnings.push(`${label}: ${issue.message}`);
  };
  const trace = loadTrace(backend, manifest, { onIssue });
  return {
    label,
    location,
    backend,
    manifest,
    normalizer,
    acc: new RunAccumulator(label, normalizer),
    trace,
    done: false,
    expected: await expectedCounts(backend, manifest),
    pending: new Map(),
  };
}

export function rethrowIn(location: string, error: unknown): never {
  if (error instanceof Error && !error.message.startsWith(location)) error.message = `${location}: ${error.message}`;
  throw error;
}

/**
 * Attempts per node from projections/run.json, trusted only when it reflects the whole trace of a complete
 * bundle. (It only decides how soon an unmatched attempt is reported: a wrong count costs memory, not truth.)
 */
async function expectedCounts(backend: BundleBackend, manifest: Manifest): Promise<Map<string, number> | undefined> {
  if (!manifest.complete) return undefined;
  try {
    const text = await backend.readText(manifest.files.run);
    if (text === undefined) return undefined;
    const run = RunProjection.safeParse(JSON.parse(text));
    if (!run.success || run.data.seq !== manifest.lastSeq) return undefined;
    return new Map(run.data.nodes.map((n) => [n.nodeId, n.attempts]));
  } catch {
    return undefined;
  }
}
