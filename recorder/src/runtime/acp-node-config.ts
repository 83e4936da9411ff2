// What an ACP node runs with, from the node, its flow and the run: the agent command, the MCP servers, the cwd.
import { resolve } from 'node:path';
import type { AcpNodeHost } from './acp-node.ts';
import { splitCommand } from './command.ts';
import type { AcpNodeDefinition, FlowNodeContext } from './definition.ts';
import { NodeError } from './errors.ts';
import { parseMcpServers, type McpServer } from './mcp-servers.ts';

/** The agent command a node runs: its own, its profile's, the flow's, the run's (through `agentFor`, if given). */
export function agentArgv(host: AcpNodeHost, node: AcpNodeDefinition, nodeId: string, handle: string): string[] {
  const fromProfile = node.profile !== undefined ? host.agents?.[node.profile] : undefined;
  const chosen = node.agentCommand ?? fromProfile ?? host.flow.agentCommand ?? host.agentCommand;
  const command = host.agentFor ? host.agentFor(handle, chosen === undefined ? undefined : splitCommand(chosen)) : chosen;
  const argv = command === undefined ? [] : splitCommand(command);
  if (argv.length === 0 || argv[0] === '') {
    const profile = node.profile !== undefined ? ` (profile "${node.profile}" is not configured)` : '';
    throw new NodeError(
      'agent_not_configured',
      `node "${nodeId}": no agent command${profile}: set agentCommand on the node or the flow, or pass an agent (--agent)`,
    );
  }
  return argv;
}

/** The node's servers, else the flow's, else the run's: a list replaces the one below it, never merges. */
export function mcpServersFor(host: AcpNodeHost, node: AcpNodeDefinition, nodeId: string): McpServer[] {
  const own = node.mcpServers ?? host.flow.mcpServers;
  if (own === undefined) return host.mcpServers ?? [];
  const parsed = parseMcpServers(own);
  if ('problem' in parsed) throw new NodeError('invalid_mcp_servers', `node "${nodeId}": ${parsed.problem}`);
  return parsed.servers;
}

/** The node's cwd, relative to the run's. */
export async function nodeCwd(host: AcpNodeHost, node: AcpNodeDefinition, context: FlowNodeContext): Promise<string> {
  const cwd = typeof node.cwd === 'function' ? await node.cwd(context) : node.cwd;
  return cwd === undefined ? host.cwd : resolve(host.cwd, cwd);
}
