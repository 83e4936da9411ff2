// `pnpm interop`: runs a one-node ACP flow with `flowtape run`, as a user would, against each real ACP agent that can
// start on this machine, plus flowtape's scripted agent as a control, and prints what happened: agent, version,
// `initialize`, auth methods, the one-line error flowtape gave, `flowtape verify`'s exit code and the processes left.
//
// Not part of CI or `pnpm test`: it installs agents from the npm registry. Everything goes into a temporary folder:
// the packed flowtape packages (`pnpm -r pack`, then `npm install` into a fresh project), the agents (codex-acp is
// taken from the repository, where it is a dev dependency), a HOME of its own (no real credentials are read or
// written) and the runs. Runs are offline (a network namespace of their own, with only loopback, when `unshare`
// works here) and bounded in time; credential variables are never passed on.
//
// Usage: pnpm interop [--json] [--markdown] [--agents codex,claude,gemini,opencode,scripted] [--timeout-ms N] [--keep]
//        pnpm interop --from result.json [--markdown]     (print the table of a saved --json result; runs nothing)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface AgentSpec {
  id: string;
  /** The npm package, as a user installs it. */
  pkg: string;
  /** Installed into the temp project from the registry, or already a dev dependency of the repository. */
  source: 'npm' | 'repo' | 'flowtape';
  /** The `--agent` command, given where the package is installed. */
  command: (dir: string) => string[];
}

const repoCodex = JSON.parse(readFileSync(join(repoRoot, 'recorder/package.json'), 'utf8')).devDependencies['@zed-industries/codex-acp'] as string;

const AGENTS: AgentSpec[] = [
  { id: 'scripted', pkg: '@flowtape/recorder', source: 'flowtape', command: (d) => [join(d, 'node_modules/.bin/flowtape-scripted-agent'), '--script', 'agent.json'] },
  { id: 'codex', pkg: `@zed-industries/codex-acp@${repoCodex}`, source: 'repo', command: () => [process.execPath, join(repoRoot, 'recorder/node_modules/@zed-industries/codex-acp/bin/codex-acp.js')] },
  { id: 'claude', pkg: '@zed-industries/claude-code-acp', source: 'npm', command: (d) => [join(d, 'node_modules/.bin/claude-code-acp')] },
  { id: 'gemini', pkg: '@google/gemini-cli', source: 'npm', command: (d) => [join(d, 'node_modules/.bin/gemini'), '--acp'] },
  { id: 'opencode', pkg: 'opencode-ai', source: 'npm', command: (d) => [join(d, 'node_modules/.bin/opencode'), 'acp'] },
];

export interface InteropRow {
  agent: string;
  package: string;
  version: string | null;
  initializeOk: boolean | null;
  authMethods: string[];
  status: string;
  /** The one line flowtape gave for the run (its `--json` error, else the failed node's error); null when it passed. */
  error: string | null;
  /** How clear that line is (see {@link clarity}), and what it lacks. */
  clarity: 'clear' | 'partial' | 'vague' | null;
  unclear: string[];
  verifyExit: number | null;
  /** Processes of this run still alive after `flowtape run` returned (found by a marker in their environment). */
  processesLeft: string[];
  durationMs: number;
  note?: string;
}

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
    agents: { type: 'string' },
    // opencode offline needs about two minutes: ~30 s to answer initialize, ~20 s for session/new, ~80 s of retries
    // before its prompt fails.
    'timeout-ms': { type: 'string', default: '180000' },
    keep: { type: 'boolean', default: false },
    from: { type: 'string' },
  },
});
const wanted = flags.agents ? new Set(flags.agents.split(',')) : undefined;
const agents = AGENTS.filter((a) => !wanted || wanted.has(a.id));
const runTimeoutMs = Number(flags['timeout-ms']);
const log = (line: string) => process.stderr.write(`interop: ${line}\n`);

function sh(command: string, args: string[], cwd: string, timeout = 600_000) {
  return spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });
}

const firstLine = (text: string) => text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';

/** The environment of one run: a HOME of its own, no credentials, a marker its processes inherit. */
function runEnv(home: string, marker: string): NodeJS.ProcessEnv {
  const keep = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TERM'];
  const env: NodeJS.ProcessEnv = Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local/state'),
    TMPDIR: join(home, 'tmp'),
    FLOWTAPE_INTEROP_RUN: marker,
  };
}

/** Live processes whose environment carries the run's marker (an agent in a process group of its own included). */
function processesWithMarker(marker: string): Array<{ pid: number; name: string }> {
  const found: Array<{ pid: number; name: string }> = [];
  const needle = `FLOWTAPE_INTEROP_RUN=${marker}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue; // a zombie holds nothing
      found.push({ pid: Number(entry), name: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() });
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

const offline = spawnSync('unshare', ['-n', 'true']).status === 0;

/** Runs one command, offline when possible, killed (whole process group) after `timeoutMs`. */
function runBounded(argv: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
  // In a network namespace of its own, with loopback up: agents that serve on 127.0.0.1 still can.
  const full = offline ? ['unshare', '-n', '--', 'sh', '-c', 'ip link set lo up 2>/dev/null; exec "$@"', 'sh', ...argv] : argv;
  return new Promise((resolve) => {
    const child = spawn(full[0]!, full.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

type Json = Record<string, unknown>;
const readJson = (path: string): Json | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch {
    return undefined;
  }
};

/** What the bundle says about the handshake: the agent's own name and version, initialize's answer, auth methods. */
function handshake(bundle: string): { version: string | null; name: string | null; initializeOk: boolean | null; authMethods: string[] } {
  const out = { version: null as string | null, name: null as string | null, initializeOk: null as boolean | null, authMethods: [] as string[] };
  const sessions = join(bundle, 'sessions');
  if (!existsSync(sessions)) return out;
  for (const id of readdirSync(sessions)) {
    const lines = readFileSync(join(sessions, id, 'events.ndjson'), 'utf8').split('\n').filter(Boolean);
    const messages = lines.map((l) => (JSON.parse(l) as { message: Json }).message);
    const init = messages.find((m) => m.method === 'initialize');
    if (!init) continue;
    const answer = messages.find((m) => m.method === undefined && m.id === init.id && ('result' in m || 'error' in m));
    out.initializeOk = answer ? 'result' in answer : false;
    const result = (answer?.result ?? {}) as Json;
    const info = (result.agentInfo ?? {}) as Json;
    out.name = typeof info.name === 'string' ? info.name : null;
    out.version = typeof info.version === 'string' ? info.version : null;
    out.authMethods = Array.isArray(result.authMethods) ? result.authMethods.map((m) => String((m as Json).id)) : [];
    return out;
  }
  return out;
}

/** The first error flowtape recorded for a node of the run (from its steps projection). */
function nodeError(bundle: string): string | null {
  const steps = readJson(join(bundle, 'projections/steps.json'))?.steps;
  if (!Array.isArray(steps)) return null;
  const failed = steps.find((s) => (s as Json).error !== undefined) as Json | undefined;
  const error = failed?.error as Json | undefined;
  return typeof error?.message === 'string' ? error.message : null;
}

const GENERIC = /^(internal error|invalid params|invalid request|method not found|parse error|error)\.?$/i;

/**
 * How clear flowtape's line is, by what a person needs from it: the agent named (its agentInfo name or its script,
 * not `node`), a cause beyond a bare JSON-RPC phrase (for a timeout: the request the agent left unanswered), and
 * for an auth failure, the methods the agent offered. All three: clear; two: partial; fewer: vague.
 */
function clarity(error: string, names: string[], authMethods: string[]): { rating: 'clear' | 'partial' | 'vague'; missing: string[] } {
  const missing: string[] = [];
  if (!names.some((n) => n.length > 0 && error.includes(n))) missing.push('does not name the agent');
  // What is left once the usual prefixes (`node "x": agent y: `) are gone.
  const cause = error.replace(/^node "[^"]*":\s*/, '').replace(/^agent [^:]+:\s*/, '').trim();
  if (!cause || GENERIC.test(cause)) missing.push('no cause beyond a JSON-RPC phrase');
  else if (/timed out/i.test(error) && !/initialize|session\/|authenticate/.test(error)) missing.push('does not say which request went unanswered');
  if (/auth/i.test(error) && authMethods.length > 0 && !authMethods.every((m) => error.includes(m))) missing.push('does not list the offered auth methods');
  return { rating: missing.length === 0 ? 'clear' : missing.length === 1 ? 'partial' : 'vague', missing };
}

/** The agent's own script or binary (`codex-acp`, `gemini`), not the interpreter that runs it. */
function scriptName(argv: string[]): string {
  const program = argv[0] === process.execPath ? argv[1]! : argv[0]!;
  return basename(program).replace(/\.(c|m)?js$/, '');
}

async function runAgent(agent: AgentSpec, project: string, root: string, installed: boolean, installError: string | null): Promise<InteropRow> {
  const row: InteropRow = {
    agent: agent.id,
    package: agent.pkg,
    version: null,
    initializeOk: null,
    authMethods: [],
    status: 'not run',
    error: null,
    clarity: null,
    unclear: [],
    verifyExit: null,
    processesLeft: [],
    durationMs: 0,
  };
  const pkgJson = readJson(join(agent.source === 'repo' ? join(repoRoot, 'recorder') : project, 'node_modules', agent.pkg.replace(/@[^@/]+$/, ''), 'package.json'));
  row.version = typeof pkgJson?.version === 'string' ? pkgJson.version : null;
  if (!installed) {
    row.status = 'not installed';
    row.error = installError;
    return row;
  }
  const home = join(root, 'homes', agent.id);
  for (const dir of ['.config', '.local/share', '.cache', '.local/state', 'tmp']) mkdirSync(join(home, dir), { recursive: true });
  const work = join(root, 'work', agent.id);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'agent.json'), JSON.stringify({ agent: { name: 'interop-control', version: '1.0.0' }, turns: [{ match: { regex: 'pong' }, steps: [{ message: 'pong' }] }] }));
  const marker = `${agent.id}-${process.pid}-${Date.now()}`;
  const command = agent.command(project).map((p) => (/\s/.test(p) ? JSON.stringify(p) : p)).join(' ');
  const flowtape = join(project, 'node_modules/.bin/flowtape');
  const started = Date.now();
  const result = await runBounded(
    [flowtape, 'run', join(project, 'interop.flow.mjs'), '--agent', command, '--cwd', work, '--out', join(root, 'runs'), '--permission', 'deny', '--json', '-q'],
    work,
    runEnv(home, marker),
    runTimeoutMs,
  );
  row.durationMs = Date.now() - started;
  // Give a killed agent's process group the moment the CLI's watchdog needs, then look for what is left.
  await new Promise((r) => setTimeout(r, 1500));
  const left = processesWithMarker(marker);
  row.processesLeft = left.map((p) => `${p.name}(${p.pid})`);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL'); // ours: started by this run, found by its marker
    } catch {
      // gone meanwhile
    }
  }
  let report: Json | undefined;
  try {
    report = JSON.parse(result.stdout) as Json;
  } catch {
    report = undefined;
  }
  if (result.killed) {
    row.status = 'killed by interop timeout';
    row.error = `no answer within ${runTimeoutMs} ms; stderr: ${firstLine(result.stderr.split('\n').slice(-3).join('\n'))}`;
  } else if (!report) {
    row.status = `flowtape exited ${result.code}`;
    row.error = firstLine(result.stderr) || null;
  }
  const bundle = typeof report?.bundle === 'string' ? report.bundle : undefined;
  if (report) {
    row.status = String(report.status);
    const error = report.error as Json | string | undefined;
    row.error = (typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : null) ?? (bundle ? nodeError(bundle) : null);
  }
  if (bundle) {
    const hs = handshake(bundle);
    row.initializeOk = hs.initializeOk;
    row.authMethods = hs.authMethods;
    if (hs.version) row.version = hs.name ? `${hs.name} ${hs.version}` : hs.version;
    const verify = sh(flowtape, ['verify', bundle], work, 60_000);
    row.verifyExit = verify.status;
    if (row.error) {
      const judged = clarity(row.error, [hs.name ?? '', scriptName(agent.command(project))], hs.authMethods);
      row.clarity = judged.rating;
      row.unclear = judged.missing;
    }
  }
  return row;
}

function table(rows: InteropRow[]): string {
  const head = ['agent', 'version', 'initialize', 'auth methods', 'status', 'time', 'verify', 'left', 'clarity', 'error flowtape gave'];
  const cells = rows.map((r) => [
    r.agent,
    r.version ?? '?',
    r.initializeOk === null ? '-' : r.initializeOk ? 'ok' : 'failed',
    r.authMethods.join(', ') || '-',
    r.status,
    `${(r.durationMs / 1000).toFixed(0)} s`,
    r.verifyExit === null ? '-' : String(r.verifyExit),
    r.processesLeft.length ? r.processesLeft.join(' ') : '0',
    r.clarity ? [r.clarity, ...r.unclear].join('; ') : '-',
    r.error ?? '-',
  ]);
  if (flags.markdown) {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...cells.map((c) => `| ${c.map(esc).join(' | ')} |`)].join('\n');
  }
  // Aligned columns; the error, last, runs as long as it is.
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) => c.map((s, i) => (i === c.length - 1 ? s : s.padEnd(width[i]!))).join('  ');
  return [fmt(head), ...cells.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  if (flags.from) {
    const saved = JSON.parse(readFileSync(flags.from, 'utf8')) as { rows: InteropRow[] };
    process.stdout.write(`${table(saved.rows)}\n`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'flowtape-interop-'));
  try {
    log(`working in ${root}${offline ? '' : ' (unshare -n is not available: runs are not isolated from the network)'}`);
    const packs = join(root, 'packs');
    mkdirSync(packs);
    log('packing the flowtape packages (pnpm -r pack)');
    const pack = sh('pnpm', ['-r', '--reporter=silent', 'pack', '--pack-destination', packs], repoRoot);
    if (pack.status !== 0) throw new Error(`pnpm -r pack failed: ${firstLine(pack.stderr + pack.stdout)}`);
    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'interop', version: '1.0.0', private: true, type: 'module' }));
    const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
    log('installing them into a fresh project (npm install)');
    const install = sh('npm', ['install', '--no-fund', '--no-audit', ...tarballs], project);
    if (install.status !== 0) throw new Error(`npm install of the packed flowtape failed: ${firstLine(install.stderr)}`);
    writeFileSync(
      join(project, 'interop.flow.mjs'),
      [
        "import { acp, defineFlow } from '@flowtape/recorder';",
        'export default defineFlow({',
        "  name: 'interop',",
        "  startAt: 'ask',",
        `  nodes: { ask: acp({ timeoutMs: ${Math.max(1000, runTimeoutMs - 20_000)}, prompt: () => 'Reply with the single word: pong' }) },`,
        '  edges: [],',
        '});',
        '',
      ].join('\n'),
    );
    const rows: InteropRow[] = [];
    for (const agent of agents) {
      let installed = true;
      let installError: string | null = null;
      if (agent.source === 'npm') {
        log(`installing ${agent.pkg} from the npm registry`);
        const result = sh('npm', ['install', '--no-fund', '--no-audit', agent.pkg], project);
        installed = result.status === 0;
        if (!installed) installError = `npm install ${agent.pkg}: ${firstLine(result.stderr)}`;
      } else if (agent.source === 'repo') {
        installed = existsSync(agent.command(project)[1]!);
        if (!installed) installError = `${agent.pkg} is not installed in the repository (pnpm install)`;
      }
      log(`running the flow against ${agent.id}`);
      const row = await runAgent(agent, project, root, installed, installError);
      log(`${agent.id}: ${row.status}${row.error ? ` — ${row.error}` : ''}`);
      rows.push(row);
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), node: process.version, offline, rows }, null, 2)}\n`);
    else process.stdout.write(`${table(rows)}\n`);
  } finally {
    if (flags.keep) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`interop: ${(error as Error).message}\n`);
  process.exitCode = 2;
});
