// Shared sessions recorded before a run stopped at a checkpoint, as a resumed run receives them (checked: they may
// come from a file).
import { ResumeError } from './errors.ts';

/**
 * A shared session recorded before the run stopped at a checkpoint, which a resumed run (another process, another
 * agent process) continues when a node of the same handle, agent command and cwd first needs it.
 */
export interface RecordedSession {
  sessionId: string;
  handle: string;
  agentCommand: string[];
  /** Absent in deterministic bundles: then any cwd matches. */
  cwd?: string;
  acpSessionId: string;
  authMethodId?: string;
}

/** Checks the recorded sessions of a resume state (it may come from a file): a bad entry is a ResumeError. */
export function checkRecordedSessions(value: unknown): RecordedSession[] {
  if (value === undefined) return [];
  const bad = (why: string): never => {
    throw new ResumeError(`resume state: sessions ${why}`);
  };
  if (!Array.isArray(value)) bad('must be an array');
  return (value as unknown[]).map((entry, i) => {
    const e = entry as Partial<RecordedSession> | null;
    const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';
    if (typeof e !== 'object' || e === null) return bad(`[${i}] must be an object`);
    if (!isText(e.sessionId) || !isText(e.handle) || !isText(e.acpSessionId)) bad(`[${i}] needs sessionId, handle and acpSessionId`);
    if (!Array.isArray(e.agentCommand) || e.agentCommand.length === 0 || !e.agentCommand.every((a) => typeof a === 'string')) {
      bad(`[${i}].agentCommand must be a non-empty array of strings`);
    }
    if (e.cwd !== undefined && typeof e.cwd !== 'string') bad(`[${i}].cwd must be a string`);
    if (e.authMethodId !== undefined && typeof e.authMethodId !== 'string') bad(`[${i}].authMethodId must be a string`);
    return e as RecordedSession;
  });
}
