/**
 * The redaction hook: applied to every byte the writer is about to put on disk (trace lines, session traffic,
 * snapshots, artifacts). `kind` says whether the text is JSON (values appear JSON-escaped) or raw (artifact bytes).
 */
export type RedactHook = (text: string, kind: 'json' | 'text') => string;

export interface Replacement {
  /** The literal to find. */
  value: string;
  /** What replaces it, e.g. `[redacted:GITHUB_TOKEN]`. */
  replacement: string;
}

/**
 * Environment variable names whose values are treated as secrets (FLOWTAPE_AUTH_* included, by AUTH). Variables
 * an agent names for its credentials are redacted whatever their name (credentials.ts).
 */
export const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH|COOKIE/i;
/** Shorter values would redact ordinary words and numbers everywhere. */
export const MIN_SECRET_LENGTH = 8;

/** The secrets of an environment: values of variables named like secrets, replaced by `[redacted:NAME]`. */
export function secretsFromEnv(env: Record<string, string | undefined>): Replacement[] {
  const out: Replacement[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || !SECRET_NAME.test(name)) continue;
    out.push({ value, replacement: `[redacted:${name}]` });
  }
  return out;
}

/**
 * A hook replacing literals. In JSON text a value is found in its escaped form (and escaped twice, for JSON
 * carried inside a JSON string, as in tool-call arguments). Longer literals go first so a secret containing
 * another is replaced whole. Replacements must not contain characters JSON escapes.
 */
export function replacingHook(replacements: readonly Replacement[]): RedactHook {
  const sorted = [...replacements].filter((r) => r.value.length > 0).sort((a, b) => b.value.length - a.value.length);
  const raw = sorted.map((r) => ({ find: r.value, replacement: r.replacement }));
  const json: Array<{ find: string; replacement: string }> = [];
  for (const r of sorted) {
    const once = JSON.stringify(r.value).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    json.push({ find: once, replacement: r.replacement });
    if (twice !== once) json.push({ find: twice, replacement: r.replacement });
  }
  if (raw.length === 0) return (text) => text;
  return (text, kind) => {
    for (const { find, replacement } of kind === 'json' ? json : raw) {
      if (text.includes(find)) text = text.split(find).join(replacement);
    }
    return text;
  };
}

/** Applies hooks left to right. */
export function composeHooks(...hooks: Array<RedactHook | undefined | false>): RedactHook {
  const active = hooks.filter((h): h is RedactHook => typeof h === 'function');
  if (active.length === 0) return (text) => text;
  if (active.length === 1) return active[0]!;
  return (text, kind) => active.reduce((acc, hook) => hook(acc, kind), text);
}
