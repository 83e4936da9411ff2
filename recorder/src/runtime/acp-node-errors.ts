// How an ACP node fails: the agent's failures as NodeErrors naming node and agent, prompts and MCP servers the node
// cannot send, and which failures leave a shared session usable.
import { AcpError, type AcpAgent } from '../acp/client.ts';
import type { PromptInput } from './definition.ts';
import { NodeError } from './errors.ts';
import type { McpServer } from './mcp-servers.ts';

const errorCodes = new Set([
  'agent_missing', 'agent_exited', 'protocol_error', 'rpc_error', 'auth_required', 'timeout', 'cancelled', 'permission_cancelled', 'invalid_cwd',
]);

/**
 * Whether a shared session stays usable after its turn failed: when the agent acknowledged a cancel (it answered
 * with a stop reason), or refused the prompt with a JSON-RPC error while staying alive and well-behaved (the next
 * node of the handle goes on in the same conversation). A timeout, an exit, a protocol error or an unacknowledged
 * cancel leave the session in doubt: it is closed, and the next node of the handle starts a new one.
 */
export function keepsSession(failure: unknown, agent: AcpAgent): boolean {
  if (!(failure instanceof AcpError) || !agent.usable) return false;
  if (failure.code === 'cancelled' || failure.code === 'permission_cancelled') return failure.stopReason !== undefined;
  return failure.code === 'rpc_error';
}

/**
 * ACP: a client sends http and sse servers only to an agent whose `mcpCapabilities` says it can use them. Refused
 * here, before session/new, with the server named — an agent would otherwise ignore it or fail obscurely.
 */
export function checkMcpSupport(agent: AcpAgent, servers: readonly McpServer[], label: string, nodeId: string): void {
  const capabilities = agent.agentCapabilities?.mcpCapabilities;
  for (const server of servers) {
    if (!('type' in server) || (server.type !== 'http' && server.type !== 'sse')) continue;
    if (capabilities?.[server.type] === true) continue;
    throw new NodeError(
      'mcp_unsupported',
      `node "${nodeId}": agent ${label}: MCP server "${server.name}" is ${server.type}, which the agent does not support (its initialize answer has no mcpCapabilities.${server.type}): use a stdio server`,
    );
  }
}

export function promptToText(prompt: PromptInput, nodeId: string): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) {
    return prompt.map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : '')).join('');
  }
  throw new NodeError('invalid_prompt', `node "${nodeId}": prompt must be a string or an array of text blocks`);
}

/**
 * The agent's failure as a NodeError keeping the client's code (`agent_missing`, `rpc_error`, …). The agent is named
 * by its `agentInfo` name once it answered initialize, else by its command (agentLabel).
 */
export function agentError(error: unknown, label: string, nodeId: string): NodeError {
  if (error instanceof NodeError) return error;
  if (error instanceof AcpError && error.agentName !== undefined) label = error.agentName;
  if (error instanceof AcpError && errorCodes.has(error.code)) {
    return new NodeError(error.code, `node "${nodeId}": agent ${label}: ${error.message}`, 'failed', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new NodeError('agent_error', `node "${nodeId}": agent ${label}: ${message}`, 'failed', { cause: error });
}
