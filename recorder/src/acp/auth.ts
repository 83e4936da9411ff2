// Which ACP auth method flowtape uses with an agent, decided from what the agent advertised in `initialize`.
//
// The rule (documented in the README, "Agents that need a login"):
//  1. A method named by the user (`--auth <id>`, a flow's or node's `auth`) is used as named; it must be one the
//     agent advertised.
//  2. Otherwise a method is used when its credentials are present in the agent's environment, and exactly one
//     advertised method's are. An `env_var` method (codex-acp's `codex-api-key`: `vars: [{ name: "CODEX_API_KEY" }]`)
//     has credentials when every variable it needs is set; any method counts as chosen when
//     `FLOWTAPE_AUTH_<ID>` is set (the id upper-cased, other characters as `_`, e.g. `FLOWTAPE_AUTH_CHATGPT=1`).
//     Two or more candidates are ambiguous: refused, never guessed.
//  3. Otherwise no `authenticate` is sent: many agents log in by themselves. If the agent then refuses to create a
//     session (`auth_required`), the error lists the methods it offered and how to pick one.
// `terminal` methods are never sent in `authenticate` (ACP forbids it; flowtape does not run login TUIs).
import type { AuthMethod } from '@agentclientprotocol/sdk';

export const AUTH_ENV_PREFIX = 'FLOWTAPE_AUTH_';

/** The environment variable that selects `methodId`: `FLOWTAPE_AUTH_` and the id upper-cased. */
export function authEnvName(methodId: string): string {
  return AUTH_ENV_PREFIX + methodId.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase();
}

export type AuthChoice =
  | { kind: 'none' }
  | { kind: 'use'; methodId: string; source: 'option' | 'environment' }
  | { kind: 'refuse'; message: string };

interface MethodView {
  id: string;
  type: string;
  name?: string;
  /** env_var methods: the variables that must be set (optional ones left out). */
  vars: string[];
}

/** Reads an advertised method defensively: agents send variants newer than the SDK's types (e.g. `env_var`). */
function view(method: AuthMethod): MethodView | undefined {
  const m = method as { id?: unknown; type?: unknown; name?: unknown; vars?: unknown };
  if (typeof m.id !== 'string' || m.id === '') return undefined;
  const vars = Array.isArray(m.vars)
    ? m.vars.flatMap((v) => {
        const entry = v as { name?: unknown; optional?: unknown };
        return typeof entry?.name === 'string' && entry.optional !== true ? [entry.name] : [];
      })
    : [];
  return { id: m.id, type: typeof m.type === 'string' ? m.type : 'agent', ...(typeof m.name === 'string' ? { name: m.name } : {}), vars };
}

/** One method for a message: its id and how to use it, e.g. `codex-api-key (set CODEX_API_KEY)`. */
function describe(method: MethodView): string {
  if (method.type === 'terminal') return `${method.id} (an interactive login flowtape cannot run)`;
  if (method.vars.length > 0) return `${method.id} (set ${method.vars.join(' and ')})`;
  return method.name ? `${method.id} (${method.name})` : method.id;
}

/** "a (…), b (…)": the methods an agent offered, for an error message. */
export function describeMethods(methods: readonly AuthMethod[]): string {
  const views = methods.map(view).filter((m): m is MethodView => m !== undefined);
  return views.length === 0 ? 'none' : views.map(describe).join(', ');
}

/** How to choose a method, for the end of an error message. */
export const AUTH_HINT = `choose one with --auth <id> (or the flow's or node's \`auth\`), or set ${AUTH_ENV_PREFIX}<ID>=1`;

export function chooseAuthMethod(
  methods: readonly AuthMethod[],
  requested: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): AuthChoice {
  const views = methods.map(view).filter((m): m is MethodView => m !== undefined);
  if (requested !== undefined) {
    const found = views.find((m) => m.id === requested);
    if (!found) {
      return { kind: 'refuse', message: `the agent offers no auth method "${requested}"; it offers: ${describeMethods(methods)}` };
    }
    if (found.type === 'terminal') {
      return { kind: 'refuse', message: `auth method "${requested}" is an interactive terminal login, which flowtape cannot run; log in with the agent itself first` };
    }
    return { kind: 'use', methodId: found.id, source: 'option' };
  }
  const present = (name: string) => (env[name] ?? '').trim() !== '';
  const candidates = views.filter(
    (m) => m.type !== 'terminal' && (present(authEnvName(m.id)) || (m.type === 'env_var' && m.vars.length > 0 && m.vars.every(present))),
  );
  if (candidates.length === 1) return { kind: 'use', methodId: candidates[0]!.id, source: 'environment' };
  if (candidates.length > 1) {
    return {
      kind: 'refuse',
      message: `the environment has credentials for several of the agent's auth methods (${candidates.map(describe).join(', ')}); choose one with --auth <id> (or the flow's or node's \`auth\`)`,
    };
  }
  return { kind: 'none' };
}
