// The start of a connection, once the agent is spawned: `initialize` (who the agent is, what it can do, how it
// logs in), then `authenticate` when a method is named or the environment points at exactly one (auth.ts).
import { PROTOCOL_VERSION, type AgentCapabilities, type AuthMethod, type ClientConnection, type InitializeResponse } from '@agentclientprotocol/sdk';
import { brokenAnswer } from './agent-failure.ts';
import { AUTH_HINT, chooseAuthMethod, describeMethods } from './auth.ts';
import type { AcpAgentOptions } from './client-options.ts';
import { AcpError, clip } from './errors.ts';

/** ACP's JSON-RPC error code for "authentication required". */
const AUTH_REQUIRED = -32000;

/** What the agent said of itself in its initialize answer. */
export interface AgentIdentity {
  agentInfo?: { name: string; version?: string; title?: string };
  protocolVersion: number;
  agentCapabilities?: AgentCapabilities;
  authMethods: AuthMethod[];
}

/** Sends one request with the client's time limit, every failure an AcpError (AcpAgent's `request`). */
export type SendRequest = <T>(method: string, send: () => Promise<T>) => Promise<T>;

export async function initialize(connection: ClientConnection, request: SendRequest, clientInfo: AcpAgentOptions['clientInfo']): Promise<AgentIdentity> {
  const method = 'initialize';
  const response = await request<InitializeResponse>(method, () =>
    connection.agent.request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false },
      clientInfo: clientInfo ?? { name: 'flowtape', version: '0.1.0' },
    }));
  if (typeof response?.protocolVersion !== 'number') throw brokenAnswer(method, 'an answer without a protocolVersion');
  const info = response.agentInfo;
  return {
    protocolVersion: response.protocolVersion,
    authMethods: response.authMethods ?? [],
    ...(response.agentCapabilities ? { agentCapabilities: response.agentCapabilities } : {}),
    ...(info && typeof info.name === 'string'
      ? { agentInfo: { name: info.name, ...(info.version ? { version: info.version } : {}), ...(info.title ? { title: info.title } : {}) } }
      : {}),
  };
}

/**
 * Sends `authenticate` when a method is named or the environment points at exactly one; resolves with the method
 * used (undefined: none was). `refusal` renders the end of a refusal's message (its data and the agent's stderr).
 */
export async function authenticate(
  connection: ClientConnection,
  request: SendRequest,
  authMethods: readonly AuthMethod[],
  options: Pick<AcpAgentOptions, 'authMethodId' | 'env' | 'inheritEnv'>,
  refusal: (rpcData: unknown) => string,
): Promise<string | undefined> {
  const env = { ...(options.inheritEnv === false ? {} : process.env), ...options.env };
  const choice = chooseAuthMethod(authMethods, options.authMethodId, env);
  if (choice.kind === 'none') return undefined;
  if (choice.kind === 'refuse') throw new AcpError('auth_required', choice.message, { method: 'authenticate' });
  const method = 'authenticate';
  try {
    await request(method, () => connection.agent.request('authenticate', { methodId: choice.methodId }));
  } catch (error) {
    if (error instanceof AcpError && error.code === 'rpc_error') {
      const how = choice.source === 'option' ? 'as asked' : 'chosen from the environment';
      throw new AcpError(
        'auth_required',
        `agent refused authenticate with ${choice.methodId} (${how}): ${clip(error.rpcMessage ?? '')}${refusal(error.rpcData)}`,
        { method, rpcCode: error.rpcCode, rpcMessage: error.rpcMessage, rpcData: error.rpcData },
      );
    }
    throw error;
  }
  return choice.methodId;
}

/**
 * ACP's auth_required (-32000), from an agent flowtape did not log in, as a refusal that says which methods the agent
 * offers and how to pick one. No stderr in `refusal` here: the line already says what to do, and real agents'
 * startup logs would push it past a readable length. Any other error is returned as it is.
 */
export function authRequired(error: unknown, method: string, authMethods: readonly AuthMethod[], refusal: (rpcData: unknown) => string): unknown {
  if (!(error instanceof AcpError) || error.rpcCode !== AUTH_REQUIRED) return error;
  const how = authMethods.length === 0
    ? 'it offers no auth method flowtape can use: log in with the agent itself first'
    : `it offers ${describeMethods(authMethods)}; ${AUTH_HINT}`;
  return new AcpError(
    'auth_required',
    `agent refused ${method}: ${clip(error.rpcMessage ?? 'Authentication required')}: the agent needs a login; ${how}${refusal(error.rpcData)}`,
    { method, rpcCode: error.rpcCode, rpcMessage: error.rpcMessage, rpcData: error.rpcData },
  );
}
