/**
 * What guards a run the CLI records (`run`, `resume`, `replay`) against what happens outside its nodes' promises:
 * - the first SIGINT/SIGTERM cancels it (its signal aborts with the signal's name); a second one exits at once;
 * - an error thrown or rejected outside every await of the flow's code (a timer, a promise nobody awaits) cancels
 *   it too, with one line naming the nodes that were running, instead of a stack trace or "internal error";
 *   Whatever the run's status then (a fault after the last node started may not stop it), the exit code is 1 at
 *   least: a flow whose code threw never passes;
 * - if nothing is left to run while the run is not over (a node whose promise never settles, nothing pending), the
 *   run is cancelled, said in one line, rather than the process ending under it;
 * - if the process exits before the run is over (the flow's code called process.exit), one line says the bundle
 *   is unfinished and how to end it, and the exit code is 1: a run that did not finish never exits 0. The trace
 *   writer has written its queued lines by then (trace-writer.ts, writeQueuedSync).
 */
import { terminalSafe } from '@flowtape/schema/terminal-safe';
import type { LifecycleObserver } from '../runtime/index.ts';
import type { CliIO } from './context.ts';

export interface RunGuard {
  /** Aborts when the run is to be cancelled (an interrupt, or an error in the flow's code outside its nodes). */
  signal: AbortSignal;
  /** The run's observer: `inner` (progress lines) after the guard noted which nodes run. */
  observe(inner?: LifecycleObserver): LifecycleObserver;
  /** The command's exit code given the run's (`code`): 1 at least after an uncaught error in the flow's code. */
  verdict(code: number): number;
  stop(): void;
}

/** One line of an error's message, whatever was thrown. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? '';
}

/**
 * `what`: the run's name in messages ("run", "replay"); `bundleDirOf`: the run's bundle, given its id once the run
 * started (undefined before: a new run's bundle is named after its id), or where to find it when its folder's name
 * is not known here (`{ root }`: a deterministic replay's folder gets a suffix when the name is taken).
 */
export function guardRun(io: CliIO, what: 'run' | 'replay', bundleDirOf: (runId: string | undefined) => string | { root: string } | undefined): RunGuard {
  const controller = new AbortController();
  const running = new Set<string>();
  let runId: string | undefined;
  let over = false;
  let faults = 0;
  /** The first uncaught error's message, once one came. */
  let fault: string | undefined;
  /** The event loop ran dry once already while the run was not over. */
  let stalled = false;
  const where = () => {
    const nodes = [...running].map((attemptId) => `"${attemptId.replace(/#\d+$/, '')}"`);
    if (nodes.length === 0) return '';
    return nodes.length === 1 ? ` (node ${nodes[0]} was running)` : ` (nodes ${nodes.join(', ')} were running)`;
  };
  const stopInterrupts = io.onInterrupt((signal) => {
    io.stderr(`flowtape: ${signal}: cancelling the ${what} (again to quit at once)\n`);
    controller.abort(signal);
  });
  const stopFaults = io.guardRun({
    onFault(error) {
      faults++;
      // A timer that throws again and again says so a few times, not once a tick.
      if (faults > 3) return;
      const message = terminalSafe(firstLine(error));
      fault ??= message;
      if (faults === 1 && !over) {
        // With no node running the run may be ending already: the verdict (exit 1) is what is sure.
        const then = running.size > 0 ? `cancelling the ${what}` : `the ${what} exits 1`;
        io.stderr(`flowtape: uncaught error in the flow's code${where()}: ${message}; ${then}\n`);
        controller.abort(`uncaught error in the flow's code: ${message}`);
      } else {
        io.stderr(`flowtape: another uncaught error in the flow's code${where()}: ${message}\n`);
      }
    },
    onStall() {
      if (over || stalled) return;
      stalled = true;
      // Nothing is pending, yet the run is not over: a node's promise can never settle. Cancelling gives the
      // runtime work (the attempt's grace, the run's end), so the run is recorded whole.
      io.stderr(`flowtape: nothing is left to run${where()}: a promise of the flow's code never settles; cancelling the ${what}\n`);
      controller.abort("nothing left to run: a promise of the flow's code never settles");
    },
    onExit(code) {
      if (over) return;
      const dir = bundleDirOf(runId);
      const bundle =
        dir === undefined
          ? ''
          : typeof dir === 'string'
            ? `: its bundle is unfinished, \`flowtape repair ${dir}\` ends it`
            : `: its bundle in ${dir.root} is unfinished (\`flowtape ls ${dir.root}\` lists it as running; \`flowtape repair\` ends it)`;
      const why = stalled ? 'the process ran out of work' : `the flow's code ended the process (process.exit(${code}))`;
      io.stderr(`flowtape: ${why}${where()} before the ${what} was over${bundle}\n`);
    },
  });
  return {
    signal: controller.signal,
    observe(inner) {
      return {
        onEvent(event, at) {
          if (event.type === 'run.started') runId = event.runId;
          else if (event.type === 'node.started') running.add(event.attemptId);
          else if (event.type === 'node.outcome') running.delete(event.attemptId);
          inner?.onEvent(event, at);
        },
      };
    },
    verdict(code) {
      if (fault === undefined || code !== 0) return code;
      io.stderr(`flowtape: the flow's code threw outside its nodes (${fault}): exit 1 whatever the ${what}'s status\n`);
      return 1;
    },
    stop() {
      over = true;
      stopInterrupts();
      stopFaults();
    },
  };
}
