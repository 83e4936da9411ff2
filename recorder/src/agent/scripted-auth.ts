// The scripted agent's login, like a real agent's: it advertises the script's `authMethods` in `initialize` and,
// when it has any, refuses `session/new` and `session/load` with ACP's -32000 "Authentication required" until
// `authenticate` succeeded. An `env_var` method succeeds only when its (non-optional) variables are set in the
// agent's environment, as codex-acp's `codex-api-key` needs CODEX_API_KEY. The method used is written to stderr
// (`flowtape-scripted-agent: authenticated with <id>`), so a test sees it in the recorded traffic.
import { RequestError, type AuthMethod } from '@agentclientprotocol/sdk';
import type { ScriptAuthMethod } from './script.ts';

export class ScriptedAuth {
  /** The method `authenticate` succeeded with, if any. */
  private method: string | undefined;

  constructor(
    private readonly methods: readonly ScriptAuthMethod[],
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly log: (line: string) => void,
  ) {}

  /** The `authMethods` of the initialize answer (the script's own `error` field left out). */
  advertised(): AuthMethod[] {
    // `env_var` is newer than the SDK's AuthMethod type: sent as the script says.
    return this.methods.map(({ error: _error, ...method }) => method as AuthMethod);
  }

  authenticate(methodId: string): Record<string, never> {
    const method = this.methods.find((m) => m.id === methodId);
    if (!method) throw RequestError.invalidParams({ methodId }, `unknown auth method "${methodId}"`);
    if (method.type === 'terminal') {
      throw RequestError.invalidParams({ methodId }, `auth method "${methodId}" is a terminal login: it cannot be used with authenticate`);
    }
    if (method.error) throw new RequestError(method.error.code, method.error.message, method.error.data);
    const missing = (method.vars ?? []).filter((v) => v.optional !== true && (this.env[v.name] ?? '') === '').map((v) => v.name);
    if (missing.length > 0) throw RequestError.authRequired({ missing }, `${missing.join(', ')} not set`);
    this.method = methodId;
    this.log(`flowtape-scripted-agent: authenticated with ${methodId}`);
    return {};
  }

  /** Refuses a session request while the agent advertises methods and none was used. */
  require(): void {
    if (this.methods.length > 0 && this.method === undefined) throw RequestError.authRequired();
  }
}
