/**
 * What `flowtape diff` does not compare: values that change from run to run without the flow's behaviour
 * changing (times, durations, run and session ids, absolute paths, temp dirs, pids, where an agent command's
 * files live), and whatever the user names with `--ignore` (JSON pointers or globs over the diff's paths).
 */
// Pure and browser-safe: where the machine's temp and home directories are is passed in (the CLI reads them from
// node:os, the viewer gets them from the `flowtape view` server that read the bundles).

/** Keys whose values are always volatile, wherever they appear (payloads, outputs, tool inputs). */
const VOLATILE_KEYS = new Set([
  'at',
  'createdAt',
  'updatedAt',
  'startedAt',
  'endedAt',
  'finishedAt',
  'timestamp',
  'durationMs',
  'elapsedMs',
  'pid',
  'ppid',
  'hostname',
  'runId',
  'sessionId',
  'acpSessionId',
]);

export const VOLATILE = '<volatile>';

/**
 * Keys whose value is an agent's argv (session bindings, `session.bound`, an ACP node's own `agentCommand` in
 * flow.json), wherever they appear: compared as {@link normalizeCommand} leaves them.
 */
const COMMAND_KEYS = new Set(['agentCommand']);

/**
 * An argument that is a file path: absolute (`/…`, `C:\…`), relative to home or spelled relative (`~/…`, `./…`,
 * `../…`), or rooted at a placeholder as deterministic bundles and this module write them (`<cwd>/…`,
 * `<flowtape>/…`, `<tmp>/…`). A bare `a/b` is not (model names such as `openai/gpt-4o` look like that), nor a URL.
 */
const PATH_ARG = /^(?:\/|~(?:\/|$)|\.\.?\/|<[\w-]+>(?:\/|$)|[A-Za-z]:[\\/])/;
/** A Node.js interpreter, by its file name. */
const NODE_PROGRAM = /^node(?:js)?(?:\.exe)?$/i;
/** A script Node runs directly. */
const NODE_SCRIPT = /\.[cm]?js$/;

function lastSegment(path: string): string {
  return path.split(/[\\/]+/).filter(Boolean).at(-1) ?? path;
}

/**
 * The comparable form of an agent command: the same agent started from another checkout, another run directory
 * or another machine normalises to the same argv, and a different agent does not.
 *
 * - Where files live is volatile, their names are not: the executable and every argument that is a path
 *   ({@link PATH_ARG}; also the value of `--opt=<path>`) keep only their last segment. The CLI records
 *   `--agent` as typed (`flowtape-scripted-agent --script agent.json`, relative to the run's cwd), a library
 *   caller or the sample script records resolved paths (`/usr/bin/node /…/flowtape-scripted-agent.js --script
 *   /…/agent.json`, or `<flowtape>/…` and `<cwd>/…` once deterministic mode scrubbed them).
 * - How a Node program was started is volatile too: `node <dir>/name.js …` (what a package's bin shim runs, and
 *   what callers that cannot rely on the PATH spell out) is the program `name …`.
 * - A path that is exactly a root the normaliser knows (the run's cwd, the bundle dir) becomes its token
 *   (`exact`), not its last segment.
 *
 * So a different program, a different script file name or any other argument that differs still differs.
 */
export function normalizeCommand(argv: readonly string[], exact: (path: string) => string | undefined = () => undefined): string[] {
  const path = (arg: string, program = false): string => {
    // The executable is a path as soon as it names a directory: the OS does not search the PATH for it then.
    if (!PATH_ARG.test(arg) && !(program && /[\\/]/.test(arg))) return arg;
    return exact(arg.length > 1 ? arg.replace(/[\\/]+$/, '') : arg) ?? lastSegment(arg);
  };
  const out = argv.map((arg, index) => {
    if (index === 0) return path(arg, true);
    const option = /^(-{1,2}[^=\s]+=)(.+)$/.exec(arg);
    return option ? option[1]! + path(option[2]!) : path(arg);
  });
  if (out.length > 1 && NODE_PROGRAM.test(out[0]!) && NODE_SCRIPT.test(out[1]!) && !out[1]!.startsWith('-')) {
    return [out[1]!.replace(NODE_SCRIPT, ''), ...out.slice(2)];
  }
  return out;
}

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\b/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The absolute directories one side's strings are relative to, replaced by tokens (`<bundle>`, `<tmp>`, …). */
export interface NormalizerRoots {
  /** The bundle's own directory (undefined for a zip). */
  bundleDir?: string;
  extraRoots?: string[];
  /** The machine's temp directory (`os.tmpdir()` where the bundles were read). */
  tmpDir?: string;
  /** The user's home directory (`os.homedir()`). */
  homeDir?: string;
}

/**
 * Replaces the volatile parts of one run's strings. Each side of a diff has its own normaliser (its own run id,
 * cwd, bundle dir, session ids), so the same text in two runs normalises to the same string.
 */
export class Normalizer {
  private pattern: RegExp | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(roots: NormalizerRoots = {}) {
    if (roots.bundleDir) this.addPath(roots.bundleDir, '<bundle>');
    for (const root of roots.extraRoots ?? []) this.addPath(root, '<root>');
    this.addPath(roots.tmpDir, '<tmp>');
    this.addPath(roots.homeDir, '<home>');
  }

  /** Adds an absolute path (e.g. the run's cwd) to replace by `token`; longer paths are replaced first. */
  addPath(path: string | undefined, token: string): void {
    if (!path || path.length < 2 || path === '/') return;
    this.addToken(path.replace(/\/+$/, ''), token);
  }

  /** Adds a literal (a run id, a session id) to replace by `token`. */
  addToken(literal: string | undefined, token: string): void {
    if (!literal || literal.length < 3 || this.tokens.has(literal)) return;
    this.tokens.set(literal, token);
    this.pattern = undefined;
  }

  string(text: string): string {
    if (this.tokens.size > 0) {
      this.pattern ??= new RegExp(
        [...this.tokens.keys()]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      );
      text = text.replace(this.pattern, (match) => this.tokens.get(match) ?? match);
    }
    text = text.replace(ISO_TIME, '<time>');
    // Temp dirs named by the OS or by mkdtemp: `/tmp/foo-AbC123/...` → `<tmp>/...`
    text = text.replace(/(?:^|(?<=[\s"'=:(]))\/(?:private\/)?(?:tmp|var\/folders\/[^/\s]+\/[^/\s]+\/T)\/[^/\s"']+/g, '<tmp>');
    // …and as the recorder's deterministic mode writes them (`<tmp>/flowtape-x-AbC123/...`).
    text = text.replace(/<tmp>\/[^/\s"']+/g, '<tmp>');
    return text;
  }

  /** An agent's argv as {@link normalizeCommand} leaves it, then with this run's volatile strings replaced. */
  command(argv: readonly string[]): string[] {
    return normalizeCommand(argv, (path) => this.tokens.get(path)).map((arg) => this.string(arg));
  }

  /** A deep copy of a JSON value with volatile keys masked, agent commands normalised and volatile strings replaced. */
  value(value: unknown): unknown {
    if (typeof value === 'string') return this.string(value);
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (v === undefined) continue;
        if (VOLATILE_KEYS.has(key)) out[key] = VOLATILE;
        else if (COMMAND_KEYS.has(key) && Array.isArray(v) && v.every((arg) => typeof arg === 'string')) out[key] = this.command(v);
        else out[key] = this.value(v);
      }
      return out;
    }
    return value;
  }
}

/** Escapes one JSON pointer segment. */
export function pointerSegment(segment: string | number): string {
  return String(segment).replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointer(...segments: Array<string | number>): string {
  return segments.map((s) => '/' + pointerSegment(s)).join('');
}

function splitPointer(path: string): string[] {
  if (path === '' || path === '/') return [];
  return path
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * `--ignore` patterns. A JSON pointer (`/attempts/review#1/output`) ignores that value and everything under it.
 * A glob matches paths segment by segment: `*` within a segment, `**` any number of segments; a glob that does
 * not start with `/` may match at any depth (`durationMs`, `output/*Id`).
 */
export class IgnoreRules {
  private readonly rules: RegExp[][] = [];

  constructor(patterns: readonly string[] = []) {
    for (const pattern of patterns) {
      if (pattern.trim() === '') continue;
      const rooted = pattern.startsWith('/');
      const segments = splitPointer(rooted ? pattern : '/' + pattern);
      const compiled = segments.map((segment) =>
        segment === '**' ? GLOBSTAR : new RegExp('^' + segment.split('*').map(escapeRegExp).join('.*') + '$'),
      );
      this.rules.push(rooted ? compiled : [GLOBSTAR, ...compiled]);
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** True when `path` (a JSON pointer) or one of its ancestors is ignored. */
  matches(path: string): boolean {
    if (this.rules.length === 0) return false;
    const segments = splitPointer(path);
    return this.rules.some((rule) => matchPrefix(rule, 0, segments, 0));
  }
}

const GLOBSTAR = /(?:)/;

function matchPrefix(rule: RegExp[], r: number, path: string[], p: number): boolean {
  if (r === rule.length) return true; // the rule matched an ancestor (or the path itself)
  const part = rule[r]!;
  if (part === GLOBSTAR) {
    for (let skip = p; skip <= path.length; skip++) if (matchPrefix(rule, r + 1, path, skip)) return true;
    return false;
  }
  if (p >= path.length) return false;
  return part.test(path[p]!) && matchPrefix(rule, r + 1, path, p + 1);
}
