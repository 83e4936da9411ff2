/**
 * The one redaction hook a recorder applies to every text it writes: the secrets (environment values named like
 * secrets, literal replacements, the variables agents name for their credentials, learnt as they do), the caller's
 * own hook, then — in deterministic mode — the paths scrubbed to placeholders (no absolute path, pid or hostname
 * in samples and goldens).
 */
import { homedir, tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeHooks, replacingHook, type RedactHook, type Replacement } from './redact.ts';

/** The repository root (`…/recorder/src/bundle` → `…`), replaced by `<flowtape>` in deterministic bundles. */
const FLOWTAPE_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export class RecorderRedaction {
  /** Applied to every text before it is written; replaced (not mutated) when secrets or scrubs are added. */
  hook: RedactHook;
  /** The hook returns every text as it is (no secret, no custom hook, no scrub): callers may skip building texts for it. */
  passesThrough = false;
  private userHook: RedactHook;
  private readonly scrubs: Replacement[] = [];

  constructor(
    /** The literals the default redaction replaces: grows as agents name their credential variables. */
    private readonly secrets: Replacement[],
    private readonly custom: RedactHook | undefined,
    deterministic: boolean,
  ) {
    if (deterministic) {
      this.addScrub(FLOWTAPE_ROOT, '<flowtape>', false);
      this.addScrub(process.execPath, 'node', false);
      this.addScrub(homedir(), '~', false);
      this.addScrub(tmpdir(), '<tmp>', false);
      this.addScrub(process.cwd(), '<cwd>', false);
    }
    this.userHook = this.secretsHook();
    this.hook = this.userHook;
    this.rebuildHook();
  }

  /** Secrets learnt while the run goes (an agent's credential variables). */
  learn(learnt: readonly Replacement[]): void {
    this.secrets.push(...learnt);
    this.userHook = this.secretsHook();
    this.rebuildHook();
  }

  /** A path replaced by a placeholder from now on (deterministic mode). */
  addScrub(path: string, replacement: string, rebuild = true): void {
    if (!path || path === '/' || this.scrubs.some((s) => s.value === path)) return;
    // The run's own cwd wins over the process cwd when they differ.
    const index = this.scrubs.findIndex((s) => s.replacement === replacement);
    if (index !== -1) this.scrubs.splice(index, 1);
    this.scrubs.push({ value: path, replacement });
    if (rebuild) this.rebuildHook();
  }

  private secretsHook(): RedactHook {
    return composeHooks(replacingHook(this.secrets), this.custom);
  }

  private rebuildHook(): void {
    this.hook = composeHooks(this.userHook, this.scrubs.length > 0 ? replacingHook(this.scrubs) : undefined);
    this.passesThrough = this.custom === undefined && this.scrubs.length === 0 && this.secrets.every((s) => s.value.length === 0);
  }
}
