// Validation of flow definitions: what is wrong with a node or a flow, as one line naming it (FlowDefinitionError).
import { FlowDefinitionError } from './errors.ts';
import { parseMcpServers } from './mcp-servers.ts';
import type { FlowDefinition, FlowNodeDefinition } from './definition.ts';

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SWITCH_PATH = /^\$(?:output|result|resume)?(?:\.[^.]+)*$/;
const POLICIES: readonly string[] = ['approve-all', 'approve-reads', 'deny'];

export function decisionField(field: string | undefined, where: string): string {
  const value = field ?? 'route';
  if (!FIELD.test(value)) throw new FlowDefinitionError(`${where}: field ${JSON.stringify(value)} must be a simple key (${FIELD.source})`);
  return value;
}

export function checkChoices(choices: unknown, where: string): void {
  if (!Array.isArray(choices) || choices.length === 0) throw new FlowDefinitionError(`${where}: choices must be a non-empty array`);
  const seen = new Set<string>();
  for (const choice of choices) {
    if (typeof choice !== 'string' || choice === '') throw new FlowDefinitionError(`${where}: choices must be non-empty strings`);
    if (seen.has(choice)) throw new FlowDefinitionError(`${where}: duplicate choice ${JSON.stringify(choice)}`);
    seen.add(choice);
  }
}

export function checked<T extends FlowNodeDefinition>(node: T, where: string): T {
  const problem = nodeProblem(node);
  if (problem) throw new FlowDefinitionError(`${where}: ${problem}`);
  return node;
}

const isFn = (value: unknown): boolean => typeof value === 'function';
const isPositiveInt = (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && value > 0;

function commandProblem(command: unknown, what: string): string | undefined {
  if (command === undefined) return undefined;
  if (typeof command === 'string') return command.trim() === '' ? `${what} is empty` : undefined;
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string') || command[0] === '') {
    return `${what} must be a non-empty string or argv array of strings`;
  }
  return undefined;
}

/** What is wrong with a node definition, as a phrase; undefined when it is valid. */
export function nodeProblem(node: unknown): string | undefined {
  if (typeof node !== 'object' || node === null) return 'is not an object (build it with compute(), acp(), shell(), …)';
  const n = node as Record<string, unknown>;
  for (const key of ['timeoutMs', 'heartbeatMs'] as const) {
    // 0 means "none", as in acpx.
    if (n[key] !== undefined && n[key] !== 0 && !isPositiveInt(n[key])) return `${key} must be a positive integer or 0 for none (got ${JSON.stringify(n[key])})`;
  }
  for (const key of ['title', 'description', 'statusDetail'] as const) {
    if (n[key] !== undefined && typeof n[key] !== 'string') return `${key} must be a string`;
  }
  switch (n.nodeType) {
    case 'compute':
      return isFn(n.run) ? undefined : '`run` must be a function';
    case 'action':
      if ('run' in n && 'exec' in n) return 'an action has either `run` (function) or `exec` (shell), not both';
      if ('run' in n) return isFn(n.run) ? undefined : '`run` must be a function';
      if (!('exec' in n)) return 'an action needs `run` (a function) or `exec` (a shell command)';
      if (n.parse !== undefined && !isFn(n.parse)) return '`parse` must be a function';
      if (isFn(n.exec)) return undefined;
      if (typeof n.exec !== 'object' || n.exec === null) return '`exec` must be a function or { command, args?, … }';
      return execProblem(n.exec);
    case 'checkpoint':
      if (n.run !== undefined && !isFn(n.run)) return '`run` must be a function';
      if (n.summary !== undefined && typeof n.summary !== 'string') return '`summary` must be a string';
      return undefined;
    case 'decision': {
      if (!isFn(n.run)) return '`run` must be a function';
      if (!Array.isArray(n.choices) || n.choices.length === 0) return '`choices` must be a non-empty array of strings';
      if (n.field !== undefined && (typeof n.field !== 'string' || !FIELD.test(n.field))) return '`field` must be a simple key';
      return undefined;
    }
    case 'acp': {
      if (typeof n.prompt !== 'string' && !isFn(n.prompt)) return '`prompt` must be a string or a function';
      if (n.parse !== undefined && !isFn(n.parse)) return '`parse` must be a function';
      if (n.cwd !== undefined && typeof n.cwd !== 'string' && !isFn(n.cwd)) return '`cwd` must be a string or a function';
      if (n.profile !== undefined && typeof n.profile !== 'string') return '`profile` must be a string';
      const commandIssue = commandProblem(n.agentCommand, '`agentCommand`');
      if (commandIssue) return commandIssue;
      if (n.permissionPolicy !== undefined && !POLICIES.includes(n.permissionPolicy as string)) {
        return `\`permissionPolicy\` must be one of ${POLICIES.join(', ')}`;
      }
      if (n.auth !== undefined && (typeof n.auth !== 'string' || n.auth === '')) return '`auth` must be a non-empty string (an auth method id)';
      const mcp = n.mcpServers === undefined ? undefined : parseMcpServers(n.mcpServers);
      if (mcp && 'problem' in mcp) return mcp.problem;
      const session = n.session as Record<string, unknown> | undefined;
      if (session !== undefined) {
        if (typeof session !== 'object' || session === null) return '`session` must be { handle?, isolated? }';
        if (session.handle !== undefined && (typeof session.handle !== 'string' || session.handle === '')) return '`session.handle` must be a non-empty string';
        if (session.isolated !== undefined && typeof session.isolated !== 'boolean') return '`session.isolated` must be a boolean';
      }
      return undefined;
    }
    default:
      return `unknown nodeType ${JSON.stringify(n.nodeType)} (expected acp, compute, action, checkpoint or decision)`;
  }
}

function execProblem(exec: object): string | undefined {
  const e = exec as Record<string, unknown>;
  if (typeof e.command !== 'string' || e.command === '') return '`exec.command` must be a non-empty string';
  if (e.args !== undefined && (!Array.isArray(e.args) || !e.args.every((a) => typeof a === 'string'))) return '`exec.args` must be an array of strings';
  if (e.cwd !== undefined && typeof e.cwd !== 'string') return '`exec.cwd` must be a string';
  if (e.stdin !== undefined && typeof e.stdin !== 'string') return '`exec.stdin` must be a string';
  if (e.timeoutMs !== undefined && !isPositiveInt(e.timeoutMs)) return '`exec.timeoutMs` must be a positive integer';
  if (e.env !== undefined && (typeof e.env !== 'object' || e.env === null || !Object.values(e.env).every((v) => typeof v === 'string'))) {
    return '`exec.env` must map names to strings';
  }
  return undefined;
}

/** Validates the whole flow; throws FlowDefinitionError with one line naming the flow and what is wrong. */
export function validateFlow(flow: unknown): asserts flow is FlowDefinition {
  if (typeof flow !== 'object' || flow === null) throw new FlowDefinitionError('flow: not an object (export defineFlow({...}))');
  const f = flow as Partial<FlowDefinition>;
  if (typeof f.name !== 'string' || f.name.trim() === '') throw new FlowDefinitionError('flow: `name` must be a non-empty string');
  const where = `flow "${f.name}"`;
  const fail = (what: string): never => {
    throw new FlowDefinitionError(`${where}: ${what}`);
  };
  if (typeof f.nodes !== 'object' || f.nodes === null || Array.isArray(f.nodes)) fail('`nodes` must be an object of node id → node');
  const nodes = f.nodes as Record<string, unknown>;
  const ids = Object.keys(nodes);
  if (ids.length === 0) fail('`nodes` is empty');
  for (const id of ids) {
    if (id.length > 200) fail(`node id "${id.slice(0, 40)}…" is longer than 200 characters`);
    const problem = nodeProblem(nodes[id]);
    if (problem) fail(`node "${id}": ${problem}`);
  }
  if (typeof f.startAt !== 'string' || !Object.hasOwn(nodes, f.startAt)) fail(`startAt ${JSON.stringify(f.startAt)} is not a node id`);
  if (f.runTimeoutMs !== undefined && !isPositiveInt(f.runTimeoutMs)) fail('`runTimeoutMs` must be a positive integer');
  const commandIssue = commandProblem(f.agentCommand, '`agentCommand`');
  if (commandIssue) fail(commandIssue);
  if (f.permissionPolicy !== undefined && !POLICIES.includes(f.permissionPolicy)) fail(`\`permissionPolicy\` must be one of ${POLICIES.join(', ')}`);
  if (f.auth !== undefined && (typeof f.auth !== 'string' || f.auth === '')) fail('`auth` must be a non-empty string (an auth method id)');
  const mcp = f.mcpServers === undefined ? undefined : parseMcpServers(f.mcpServers);
  if (mcp && 'problem' in mcp) fail(mcp.problem);
  if (!Array.isArray(f.edges)) fail('`edges` must be an array');
  const known = (id: unknown): boolean => typeof id === 'string' && Object.hasOwn(nodes, id);
  const from = new Set<string>();
  (f.edges as unknown[]).forEach((edge, index) => {
    const at = `edge ${index}`;
    if (typeof edge !== 'object' || edge === null) fail(`${at} is not an object`);
    const e = edge as Record<string, unknown>;
    if (!known(e.from)) fail(`${at}: from ${JSON.stringify(e.from)} is not a node id`);
    const fromId = e.from as string;
    if (from.has(fromId)) fail(`${at}: node "${fromId}" already has an outgoing edge (use one switch edge to branch)`);
    from.add(fromId);
    if ('to' in e) {
      if ('switch' in e) fail(`${at} from "${fromId}": has both \`to\` and \`switch\``);
      if (!known(e.to)) fail(`${at} from "${fromId}": to ${JSON.stringify(e.to)} is not a node id`);
      return;
    }
    const sw = e.switch as Record<string, unknown> | undefined;
    if (typeof sw !== 'object' || sw === null) fail(`${at} from "${fromId}": needs \`to\` or \`switch\``);
    const s = sw as Record<string, unknown>;
    if (typeof s.on !== 'string' || !SWITCH_PATH.test(s.on)) {
      fail(`${at} from "${fromId}": switch.on ${JSON.stringify(s.on)} must be $.path, $output.path, $result.path or $resume.path`);
    }
    if (typeof s.cases !== 'object' || s.cases === null || Array.isArray(s.cases)) fail(`${at} from "${fromId}": switch.cases must be an object`);
    for (const [key, target] of Object.entries(s.cases as object)) {
      if (!known(target)) fail(`${at} from "${fromId}": case ${JSON.stringify(key)} goes to ${JSON.stringify(target)}, which is not a node id`);
    }
    if (s.default !== undefined && !known(s.default)) fail(`${at} from "${fromId}": switch.default ${JSON.stringify(s.default)} is not a node id`);
  });
}
