// The watchdog: makes sure the process groups this process starts do not outlive it, even when it is SIGKILLed.
//
// Why: agents and shell commands run detached, as leaders of process groups of their own, so that stopping one also
// stops whatever it started. The price is that nothing stops them when this process dies without cleaning up
// (SIGKILL, an OOM kill, a crash): a `sleep 30` in a shell node, or an agent that ignores its stdin closing, would
// run on as an orphan. Linux's PR_SET_PDEATHSIG does not exist on macOS (and would not reach a group), so instead a
// small helper process holds a pipe from us. We tell it every group we start ("add <pgid>") and every group that is
// gone ("remove <pgid>"). When the pipe reaches end-of-file — we closed it, or we died, however — it sends SIGTERM
// to every group still registered, SIGKILL to what is left after WATCHDOG_GRACE_MS, and exits. The kernel closes
// our end of the pipe when we die, so this needs no cooperation from a dying process.
//
// It is started lazily with the first group (runs without shell or agent nodes never start one), is shared by
// everything in this process, and is stopped as soon as no group is registered and no run holds it: it never
// outlives the runs that needed it. It runs detached (a session of its own), so a signal to our
// process group (Ctrl-C in a terminal) does not take it down with us.
//
// Its program is a string run with `node -e`: the same from the TypeScript sources and from the published dist,
// with no script path to resolve and no TypeScript loader to start (tsx would cost ~0.3 s of CPU per watchdog).
import { spawn, type ChildProcess } from 'node:child_process';

/** Between the watchdog's SIGTERM and SIGKILL to the groups it reaps. */
export const WATCHDOG_GRACE_MS = 2_000;

const PROGRAM = `'use strict';
const grace = Number(process.argv[1]) || 2000;
const groups = new Set();
let pending = '';
let reaping = false;
// Ctrl-C or a hang-up are the parent's business: the watchdog must live on to clean up after it.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
const alive = (g) => { try { process.kill(-g, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const signal = (name) => { for (const g of groups) { try { process.kill(-g, name); } catch { groups.delete(g); } } };
const reap = () => {
  if (reaping) return;
  reaping = true;
  for (const g of groups) if (!alive(g)) groups.delete(g);
  if (groups.size === 0) process.exit(0);
  signal('SIGTERM');
  const deadline = Date.now() + grace;
  setInterval(() => {
    for (const g of groups) if (!alive(g)) groups.delete(g);
    if (groups.size > 0 && Date.now() < deadline) return;
    signal('SIGKILL');
    process.exit(0);
  }, 25);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (pending + chunk).split('\\n');
  pending = lines.pop();
  for (const line of lines) {
    const [op, id] = line.split(' ');
    const g = Number(id);
    if (!Number.isInteger(g) || g <= 1) continue;
    if (op === 'add') groups.add(g);
    else if (op === 'remove') groups.delete(g);
  }
});
process.stdin.on('end', reap);
process.stdin.on('close', reap);
process.stdin.on('error', reap);
`;

interface Helper {
  child: ChildProcess;
  exited: Promise<void>;
}

let helper: Helper | undefined;
const groups = new Set<number>();
let holds = 0;
/** spawnWatched calls between starting the watchdog and registering the new group. */
let spawning = 0;
let warned = false;

/**
 * Spawns a detached process (`start` must spawn with `detached: true`) under the watchdog's protection: the
 * watchdog is started first (its own start can take longer than a short command needs to get going), so the new
 * process group is covered from the moment it exists. `unwatch` unregisters the group: call it once the group is
 * gone; it resolves when a watchdog no longer needed has exited (bounded), so a caller that waits for it leaves no
 * process behind.
 */
export function spawnWatched<T extends ChildProcess>(start: () => T): { child: T; unwatch: () => Promise<void> } {
  if (process.platform === 'win32') return { child: start(), unwatch: () => Promise.resolve() };
  spawning++;
  helper ??= startHelper();
  let child: T;
  try {
    child = start();
  } catch (error) {
    spawning--;
    void settle();
    throw error;
  }
  spawning--;
  const pgid = child.pid;
  if (pgid === undefined) {
    // It could not be spawned (its 'error' event follows): nothing to watch.
    void settle();
    return { child, unwatch: () => Promise.resolve() };
  }
  groups.add(pgid);
  if (helper) send(helper, `add ${pgid}`);
  else helper = startHelper(); // it died meanwhile: a new one gets every group
  return {
    child,
    unwatch: once(() => {
      groups.delete(pgid);
      if (helper) send(helper, `remove ${pgid}`);
      return settle();
    }),
  };
}

/**
 * Keeps the watchdog, once started, until the returned release is called (which resolves once it has exited, if
 * nothing else needs it). A run holds it for its whole length, so its commands and agents share one watchdog.
 */
export function holdWatchdog(): () => Promise<void> {
  holds++;
  return once(() => {
    holds--;
    return settle();
  });
}

function startHelper(): Helper | undefined {
  const { NODE_OPTIONS: _, ...env } = process.env; // a loader in NODE_OPTIONS would only slow it down
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['-e', PROGRAM, String(WATCHDOG_GRACE_MS)], {
      cwd: '/',
      env,
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch (error) {
    warn(error);
    return undefined;
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      warn(error);
      resolve();
    });
  });
  child.stdin!.on('error', () => {}); // EPIPE if it died: the next group starts a new one
  const started: Helper = { child, exited };
  void exited.then(() => {
    if (helper === started) helper = undefined;
  });
  // Neither the watchdog nor its pipe keeps this process alive.
  child.unref();
  (child.stdin as unknown as { unref?(): void }).unref?.();
  for (const pgid of groups) send(started, `add ${pgid}`);
  return started;
}

function send(to: Helper, line: string): void {
  if (to.child.stdin?.writable) to.child.stdin.write(`${line}\n`);
}

/** Stops the watchdog when nothing needs it any more; resolves once it has exited (at most 2 s). */
function settle(): Promise<void> {
  const current = helper;
  if (!current || groups.size > 0 || holds > 0 || spawning > 0) return Promise.resolve();
  helper = undefined;
  // No group is registered, so it has nothing left to do: no need to wait for it to boot and notice its stdin end.
  current.child.stdin?.end();
  current.child.kill('SIGKILL');
  // A ref'd timer keeps this process alive while we wait (the child and its pipe are unref'd).
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    void current.exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

function warn(error: unknown): void {
  if (warned) return;
  warned = true;
  process.emitWarning(`flowtape: cannot start the process watchdog (processes may outlive a killed run): ${error instanceof Error ? error.message : String(error)}`);
}
