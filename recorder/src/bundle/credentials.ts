/**
 * Agent credentials the writer must never put on disk, learnt from the raw ACP traffic it records.
 *
 * An agent names the environment variables that hold its credentials in its `initialize` answer: an `env_var` auth
 * method lists them in `vars` (codex-acp's `codex-api-key` → CODEX_API_KEY). Their values are redacted whatever
 * the variables are called — the name-based default (redact.ts SECRET_NAME) only catches names that look secret.
 *
 * Until a session's agent has given its first answer (the `initialize` one), that session's traffic is held back,
 * not written: an agent may print its credential on stderr before flowtape knows the variable's name. The held lines
 * are written, redacted with everything learnt, when that answer comes, or when the session is bound, fails or the
 * writer closes.
 */
import type { Replacement } from './redact.ts';
import { MIN_SECRET_LENGTH } from './redact.ts';

/** Arguments of SessionWriter.traffic, kept while a session's traffic is held back. */
export type HeldTraffic = readonly [at: string, direction: 'outgoing' | 'incoming' | 'stderr', message: unknown, text: string | undefined, attemptId: string | undefined, omitted: { bytes: number; lines: number } | undefined, raw?: string | undefined, json?: string | undefined];

/** The variables an `initialize` answer's `env_var` auth methods name (optional ones too: they may hold secrets). */
export function credentialVarNames(message: unknown): string[] {
  const result = (message as { result?: { authMethods?: unknown } } | null)?.result;
  const methods = result?.authMethods;
  if (!Array.isArray(methods)) return [];
  const names: string[] = [];
  for (const method of methods as Array<{ type?: unknown; vars?: unknown } | null>) {
    if (method?.type !== 'env_var' || !Array.isArray(method.vars)) continue;
    for (const v of method.vars as Array<{ name?: unknown } | null>) {
      if (typeof v?.name === 'string' && v.name !== '') names.push(v.name);
    }
  }
  return names;
}

/** Whether an incoming message is an answer to one of flowtape's requests (the first one is `initialize`'s). */
export function isResponse(message: unknown): boolean {
  const m = message as { id?: unknown; method?: unknown; result?: unknown; error?: unknown } | null;
  return typeof m === 'object' && m !== null && m.method === undefined && m.id !== undefined && ('result' in m || 'error' in m);
}

export class CredentialWatch {
  private readonly names = new Set<string>();
  private readonly held = new Map<string, HeldTraffic[]>();
  private readonly answered = new Set<string>();

  constructor(
    private readonly env: Readonly<Record<string, string | undefined>>,
    /** New values to redact: the writer rebuilds its hook. */
    private readonly onLearnt: (replacements: Replacement[]) => void,
  ) {}

  /**
   * Takes one traffic line of a session. Returns the lines to write now, in order (none while the session is held
   * back; all held ones once its agent answered).
   */
  take(sessionId: string, line: HeldTraffic): HeldTraffic[] {
    if (this.answered.has(sessionId)) {
      this.learn(line);
      return [line];
    }
    const held = this.held.get(sessionId) ?? [];
    held.push(line);
    this.held.set(sessionId, held);
    if (line[1] !== 'incoming' || !isResponse(line[2])) return [];
    this.learn(line);
    return this.release(sessionId);
  }

  /** The session's held lines, to write now (its agent failed or was bound, or the writer closes). */
  release(sessionId: string): HeldTraffic[] {
    this.answered.add(sessionId);
    const held = this.held.get(sessionId) ?? [];
    this.held.delete(sessionId);
    return held;
  }

  /** Every session still held back. */
  pending(): string[] {
    return [...this.held.keys()];
  }

  private learn(line: HeldTraffic): void {
    if (line[1] !== 'incoming') return;
    const learnt: Replacement[] = [];
    for (const name of credentialVarNames(line[2])) {
      if (this.names.has(name)) continue;
      this.names.add(name);
      const value = this.env[name];
      if (value !== undefined && value.length >= MIN_SECRET_LENGTH) learnt.push({ value, replacement: `[redacted:${name}]` });
    }
    if (learnt.length > 0) this.onLearnt(learnt);
  }
}
