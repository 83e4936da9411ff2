// Compare mode of the viewer server (`flowtape view <a> <b>`, `flowtape diff <a> <b> --view`): two bundles served
// side by side as runs `a` and `b`, and what the page needs to run the diff engine exactly as the CLI does (the
// locations as the user typed them, each bundle's directory and this machine's temp and home directories, which
// the engine treats as volatile roots).
import { existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

export interface CompareSideInput {
  /** Absolute path of a bundle directory or a `.zip` from `flowtape pack`. */
  root: string;
  /** As the user named it (the diff report shows it). */
  location: string;
}

export interface CompareInput {
  a: CompareSideInput;
  b: CompareSideInput;
  /** `os.tmpdir()` and `os.homedir()` of the machine that reads the bundles (the CLI's diff uses the same). */
  machine?: { tmpDir?: string; homeDir?: string };
  /** `flowtape diff`'s options when it opened the page (`--ignore`, `--usage`, `--max-details`). */
  options?: { ignore?: string[]; usage?: boolean; maxDetails?: number };
}

export interface CompareSide {
  run: 'a' | 'b';
  kind: 'dir' | 'zip';
  location: string;
  /** The bundle directory as `flowtape diff` resolves it (`<bundle>` in its strings); absent for a zip. */
  dir?: string;
  real: string;
}

/** What `/api/info` tells the page in compare mode. */
export interface CompareInfo {
  a: Omit<CompareSide, 'real'>;
  b: Omit<CompareSide, 'real'>;
  machine: { tmpDir?: string; homeDir?: string };
  options: { ignore?: string[]; usage?: boolean; maxDetails?: number };
}

/** The side, or the one line that says why it cannot be served. */
async function side(run: 'a' | 'b', input: CompareSideInput): Promise<CompareSide | string> {
  let info;
  try {
    info = await stat(input.root);
  } catch {
    return `${input.location}: no such file or directory`;
  }
  const real = await realpath(input.root);
  if (info.isFile() && extname(input.root).toLowerCase() === '.zip') return { run, kind: 'zip', location: input.location, real };
  // A bundle has a manifest, or (a run that died before writing one) a trace: as serve.ts's isBundleDir.
  const bundle = info.isDirectory() && (existsSync(join(real, 'manifest.json')) || existsSync(join(real, 'trace.ndjson')));
  if (!bundle) return `${input.location}: not a bundle directory or .zip (compare opens two bundles, not a runs root)`;
  return { run, kind: 'dir', location: input.location, dir: input.root, real };
}

export type ResolvedCompare = { a: CompareSide; b: CompareSide; info: CompareInfo };

/** Both sides checked, or the first one's problem as one line. */
export async function resolveCompare(input: CompareInput): Promise<ResolvedCompare | string> {
  const a = await side('a', input.a);
  if (typeof a === 'string') return a;
  const b = await side('b', input.b);
  if (typeof b === 'string') return b;
  const pub = ({ real: _real, ...rest }: CompareSide) => rest;
  return { a, b, info: { a: pub(a), b: pub(b), machine: input.machine ?? {}, options: input.options ?? {} } };
}
