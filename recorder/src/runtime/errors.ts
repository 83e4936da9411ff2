// Errors of the flow runtime, and the one place where any thrown value becomes an ErrorInfo for the trace.
import type { ErrorInfo } from '@flowtape/schema';

/** A flow definition (or run option) is invalid. The message is one line naming the flow and the node or edge. */
export class FlowDefinitionError extends Error {
  override name = 'FlowDefinitionError';
}

/** runFlow / resumeFlow options are invalid (e.g. a run id that is not filesystem-safe). */
export class RunOptionsError extends Error {
  override name = 'RunOptionsError';
}

/** A resume state does not fit the flow it is applied to. */
export class ResumeError extends Error {
  override name = 'ResumeError';
}

/** An attempt failed for a reason the runtime understands; `code` is stable and machine-readable. */
export class NodeError extends Error {
  override name = 'NodeError';
  /** What the attempt produced before it failed (e.g. a shell's exit code and output), kept in its result. */
  output?: unknown;
  constructor(
    readonly code: string,
    message: string,
    /** `timed_out` when the node's own deadline (e.g. a shell command's `timeoutMs`) expired. */
    readonly outcome: 'failed' | 'timed_out' = 'failed',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const MAX_MESSAGE = 500;

function oneLine(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}

/**
 * Any thrown value → ErrorInfo. Errors the runtime raised itself carry their code; anything else thrown by flow
 * code gets `fallbackCode`, and its stack unless the run is deterministic (stacks hold machine paths).
 */
export function toErrorInfo(error: unknown, fallbackCode: string, withStack = false): ErrorInfo {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const info: ErrorInfo = {
      message: oneLine(error.message || error.name),
      code: typeof code === 'string' && code !== '' ? code : fallbackCode,
      name: error.name,
    };
    if (withStack && !(error instanceof NodeError) && error.name !== 'AcpError' && error.stack) info.stack = error.stack;
    return info;
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    message = String(error);
  }
  return { message: oneLine(`non-Error thrown: ${message}`), code: fallbackCode };
}
