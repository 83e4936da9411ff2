// The flow authoring API. Names and shapes follow acpx's `acpx/flows` (defineFlow, acp, compute, action, shell,
// checkpoint, decision, decisionEdge) so an acpx `*.flow.ts` file ports by changing its import; additions are
// marked "flowtape:" below. Builders only validate and tag: they keep the author's object (no copies).
import type { ErrorInfo, JsonValue, NodeType, Outcome } from '@flowtape/schema';
import { FlowDefinitionError } from './errors.ts';
import { parseMcpServers, type McpServersInput } from './mcp-servers.ts';
import type { FlowShellExecution, FlowShellResult, ShellActionExecution, ShellActionResult } from './shell.ts';

export type MaybePromise<T> = T | Promise<T>;

/** How an ACP agent's permission requests are answered (same values as the ACP client's policy). */
export type PermissionPolicy = 'approve-all' | 'approve-reads' | 'deny';

/** An agent command: argv, or one string split like a shell would (quotes respected, no expansion). */
export type AgentCommand = string | readonly string[];

/** The latest result of a node, readable by later nodes (`context.results`) and by `$result.*` switches. */
export interface FlowNodeResult {
  attemptId: string;
  nodeId: string;
  nodeType: NodeType;
  outcome: Outcome;
  durationMs: number;
  output?: unknown;
  error?: ErrorInfo;
}

/** What a node's functions receive. One object per attempt; `outputs` and `results` are live, shared views. */
export interface FlowNodeContext<TInput = any> {
  /** The run input. */
  input: TInput;
  /** The output of the latest successful attempt of every earlier node, by node id. */
  outputs: Record<string, any>;
  /** The latest result (ok or not) of every earlier node, by node id. */
  results: Record<string, FlowNodeResult>;
  /** Whatever the caller passed as `services` to runFlow. */
  services: Record<string, unknown>;
  /** flowtape: this attempt. */
  nodeId: string;
  attemptId: string;
  /** 1 for the first run of the node, 2 for `node#2`, … */
  attempt: number;
  /** Aborts when this attempt times out or the run is cancelled / times out. */
  signal: AbortSignal;
  /** The run's working directory. */
  cwd: string;
  runId: string;
  /** flowtape: the input given to the latest `resumeFlow` (undefined before any resume). */
  resume: any;
  /** acpx: runs a command from inside a node function; stopped when the attempt is interrupted. */
  runShell(execution: FlowShellExecution): Promise<FlowShellResult>;
}

export interface FlowNodeCommon {
  /** The attempt is interrupted (outcome `timed_out`) after this many milliseconds (0 or absent: no limit). */
  timeoutMs?: number;
  /** A `node.heartbeat` event every this many milliseconds while the attempt runs (0 or absent: none). */
  heartbeatMs?: number;
  /** acpx: a status line; flowtape shows it as the node's description when `description` is absent. */
  statusDetail?: string;
  /** flowtape: display title and description for the flow graph. */
  title?: string;
  description?: string;
}

/** acpx allows a prompt of content blocks; flowtape sends their text. */
export type PromptBlock = { type: 'text'; text: string } | { type: string; [key: string]: unknown };
export type PromptInput = string | readonly PromptBlock[];

export interface AcpSessionOptions {
  /** Nodes with the same handle (and agent and cwd) share one ACP session. Default `main`. */
  handle?: string;
  /** A fresh agent process and session for every attempt. */
  isolated?: boolean;
}

export interface AcpNodeDefinition extends FlowNodeCommon {
  nodeType: 'acp';
  /** flowtape: a plain string is allowed besides acpx's function. */
  prompt: string | ((context: FlowNodeContext) => MaybePromise<PromptInput>);
  /** The node output is `parse(text)`, or the agent's text when absent (trimmed, like acpx). */
  parse?: (text: string, context: FlowNodeContext) => MaybePromise<unknown>;
  session?: AcpSessionOptions;
  /** acpx: an agent name, resolved through runFlow's `agents` option. */
  profile?: string;
  /** flowtape: the agent to run for this node (wins over profile, the flow's and the run's agent). */
  agentCommand?: AgentCommand;
  /** The agent's working directory (default: the run cwd); relative paths resolve against the run cwd. */
  cwd?: string | ((context: FlowNodeContext) => MaybePromise<string | undefined>);
  /** flowtape: overrides the run's permission policy for the session this node opens. */
  permissionPolicy?: PermissionPolicy;
  /** flowtape: the ACP auth method to log in with (one the agent advertises); wins over the flow's and the run's. */
  auth?: string;
  /**
   * flowtape: the MCP servers of the session this node opens (sent in `session/new`). Replaces the flow's and the
   * run's list — `[]` means none — rather than merging with it. Nodes share a session only with the same servers.
   */
  mcpServers?: McpServersInput;
}

export interface ComputeNodeDefinition extends FlowNodeCommon {
  nodeType: 'compute';
  run: (context: FlowNodeContext) => MaybePromise<unknown>;
}

export interface FunctionActionNodeDefinition extends FlowNodeCommon {
  nodeType: 'action';
  run: (context: FlowNodeContext) => MaybePromise<unknown>;
}

export interface ShellActionNodeDefinition extends FlowNodeCommon {
  nodeType: 'action';
  /** flowtape: a static execution object is allowed besides acpx's function. */
  exec: ShellActionExecution | ((context: FlowNodeContext) => MaybePromise<ShellActionExecution>);
  /** The node output is `parse(result)`, or `{ exitCode, signal, stdout, stderr }` when absent. */
  parse?: (result: ShellActionResult, context: FlowNodeContext) => MaybePromise<unknown>;
}

export type ActionNodeDefinition = FunctionActionNodeDefinition | ShellActionNodeDefinition;

export interface CheckpointNodeDefinition extends FlowNodeCommon {
  nodeType: 'checkpoint';
  /** Shown while the run waits (the `run.waiting` message). */
  summary?: string;
  /** Its result is the checkpoint's output; default `{ checkpoint: <nodeId>, summary }`. */
  run?: (context: FlowNodeContext) => MaybePromise<unknown>;
}

/** flowtape: a decision made by code; its output is `{ [field]: choice }` (field default `route`). */
export interface DecisionNodeDefinition<TChoice extends string = string> extends FlowNodeCommon {
  nodeType: 'decision';
  choices: readonly TChoice[];
  field?: string;
  /** Returns one of `choices`, or an object whose `field` is one of them (kept whole as the output). */
  run: (context: FlowNodeContext) => MaybePromise<TChoice | Record<string, unknown>>;
}

export type FlowNodeDefinition =
  | AcpNodeDefinition
  | ComputeNodeDefinition
  | ActionNodeDefinition
  | CheckpointNodeDefinition
  | DecisionNodeDefinition;

export interface DirectFlowEdge {
  from: string;
  to: string;
}
export interface SwitchFlowEdge {
  from: string;
  switch: {
    /** `$.a.b` (the node output; `$output.a.b` too), `$result.outcome` / `$result.<field>`, `$resume.<field>`. */
    on: string;
    /** Switch value as a string (`String(value)`) → target node. */
    cases: Record<string, string>;
    /** flowtape: taken when no case matches (acpx has no default: a missing case fails the run). */
    default?: string;
  };
}
export type FlowEdge = DirectFlowEdge | SwitchFlowEdge;

export interface FlowDefinition {
  name: string;
  description?: string;
  startAt: string;
  nodes: Record<string, FlowNodeDefinition>;
  edges: FlowEdge[];
  /** flowtape: the run ends `timed_out` after this many milliseconds (runFlow's `runTimeoutMs` overrides it). */
  runTimeoutMs?: number;
  /** flowtape: the agent for ACP nodes that name none (wins over runFlow's default `agentCommand`). */
  agentCommand?: AgentCommand;
  /** flowtape: default permission policy of this flow's ACP sessions. */
  permissionPolicy?: PermissionPolicy;
  /** flowtape: the ACP auth method of this flow's sessions (wins over runFlow's `auth`, the CLI's --auth). */
  auth?: string;
  /** flowtape: the MCP servers of this flow's ACP sessions (replaces runFlow's `mcpServers`, the CLI's --mcp-config). */
  mcpServers?: McpServersInput;
  /** flowtape: free-form labels, copied to flow.json. */
  metadata?: Record<string, JsonValue>;
  /** acpx: accepted and ignored (flowtape names runs by id). */
  run?: { title?: unknown };
  /** acpx: accepted and ignored (flowtape answers permissions by policy). */
  permissions?: unknown;
}

// ---- builders -------------------------------------------------------------------------------------------

const defined = new WeakSet<object>();

/** Validates a flow definition (throws FlowDefinitionError, one line) and returns it unchanged. */
export function defineFlow<TFlow extends FlowDefinition>(definition: TFlow): TFlow {
  validateFlow(definition);
  defined.add(definition);
  return definition;
}

/** True when `flow` already passed defineFlow's validation (runFlow then skips it). */
export function isDefinedFlow(flow: unknown): flow is FlowDefinition {
  return typeof flow === 'object' && flow !== null && defined.has(flow);
}

export function acp(definition: Omit<AcpNodeDefinition, 'nodeType'>): AcpNodeDefinition {
  return checked({ nodeType: 'acp', ...definition }, 'acp node');
}

export function compute(definition: Omit<ComputeNodeDefinition, 'nodeType'>): ComputeNodeDefinition {
  return checked({ nodeType: 'compute', ...definition }, 'compute node');
}

export function action(definition: Omit<FunctionActionNodeDefinition, 'nodeType'>): FunctionActionNodeDefinition;
export function action(definition: Omit<ShellActionNodeDefinition, 'nodeType'>): ShellActionNodeDefinition;
export function action(
  definition: Omit<FunctionActionNodeDefinition, 'nodeType'> | Omit<ShellActionNodeDefinition, 'nodeType'>,
): ActionNodeDefinition {
  return checked({ nodeType: 'action', ...definition } as ActionNodeDefinition, 'action node');
}

export function shell(definition: Omit<ShellActionNodeDefinition, 'nodeType'>): ShellActionNodeDefinition {
  if ('run' in definition) throw new FlowDefinitionError('shell node: a shell node has `exec`, not `run` (use action() for functions)');
  return checked({ nodeType: 'action', ...definition }, 'shell node');
}

export function checkpoint(definition: Omit<CheckpointNodeDefinition, 'nodeType'> = {}): CheckpointNodeDefinition {
  return checked({ nodeType: 'checkpoint', ...definition }, 'checkpoint node');
}

/** acpx's decision: an ACP turn asked to answer with a JSON object whose `field` is one of `choices`. */
export type AcpDecisionDefinition<TChoice extends string> = Omit<AcpNodeDefinition, 'nodeType' | 'prompt' | 'parse'> & {
  question: string | ((context: FlowNodeContext) => MaybePromise<string>);
  choices: readonly TChoice[];
  field?: string;
};

/**
 * A decision node. With `run` (flowtape) a function picks the choice: nodeType `decision`. With `question`
 * (acpx) an ACP agent picks it: an `acp` node whose prompt asks for `{"<field>": <choice>}` and whose parse
 * rejects any other answer.
 */
export function decision<TChoice extends string>(
  definition: Omit<DecisionNodeDefinition<TChoice>, 'nodeType'>,
): DecisionNodeDefinition<TChoice>;
export function decision<TChoice extends string>(definition: AcpDecisionDefinition<TChoice>): AcpNodeDefinition;
export function decision<TChoice extends string>(
  definition: Omit<DecisionNodeDefinition<TChoice>, 'nodeType'> | AcpDecisionDefinition<TChoice>,
): DecisionNodeDefinition<TChoice> | AcpNodeDefinition {
  const field = decisionField(definition.field, 'decision node');
  checkChoices(definition.choices, 'decision node');
  if ('run' in definition && !('question' in definition)) {
    return checked({ nodeType: 'decision', ...definition }, 'decision node') as DecisionNodeDefinition<TChoice>;
  }
  if (!('question' in definition)) throw new FlowDefinitionError('decision node: give `run` (a function) or `question` (asked to the agent)');
  const { question, choices, field: _field, ...acpOptions } = definition;
  const allowed = new Set<string>(choices);
  const labels = choices.map((c) => JSON.stringify(c)).join(' | ');
  const node = acp({
    ...acpOptions,
    async prompt(context) {
      const text = typeof question === 'function' ? await question(context) : question;
      return [
        text,
        '',
        'Return exactly one JSON object with this shape:',
        '{',
        `  ${JSON.stringify(field)}: ${labels},`,
        '  "reason": "short justification"',
        '}',
        '',
        'Do not include any other text outside the JSON object.',
      ].join('\n');
    },
    parse(text) {
      const raw = extractJsonObject(text);
      if (raw === undefined) throw new Error(`decision: the answer holds no JSON object: ${JSON.stringify(text.slice(0, 120))}`);
      const value = raw[field];
      if (typeof value !== 'string' || !allowed.has(value)) {
        throw new Error(`decision: answer has ${field}=${JSON.stringify(value)}; expected one of ${labels}`);
      }
      return raw;
    },
  });
  agentDecisions.set(node, { question, choices });
  return node;
}

/** acpx-style decisions (ACP nodes built by decision({ question })): what the snapshot shows as their prompt. */
export const agentDecisions = new WeakMap<AcpNodeDefinition, { question: unknown; choices: readonly string[] }>();

/** The switch edge of a decision: `$.<field>` with one case per choice (all required). */
export function decisionEdge<TChoice extends string>(args: {
  from: string;
  choices: readonly TChoice[];
  field?: string;
  cases: Record<TChoice, string>;
  /** flowtape: taken when the value is none of the choices. */
  default?: string;
}): SwitchFlowEdge {
  const field = decisionField(args.field, `decision edge from "${args.from}"`);
  checkChoices(args.choices, `decision edge from "${args.from}"`);
  for (const choice of args.choices) {
    if (!Object.hasOwn(args.cases, choice)) {
      throw new FlowDefinitionError(`decision edge from "${args.from}": no case for choice ${JSON.stringify(choice)}`);
    }
  }
  const cases: Record<string, string> = { ...args.cases };
  return { from: args.from, switch: { on: `$.${field}`, cases, ...(args.default !== undefined ? { default: args.default } : {}) } };
}

/** The first JSON object in `text` (bare, or inside a ``` fence, or embedded in prose). */
export function extractJsonObject(text: string): Record<string, unknown> | undefined {
  const tryParse = (candidate: string): Record<string, unknown> | undefined => {
    try {
      const value: unknown = JSON.parse(candidate);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const trimmed = text.trim();
  const direct = tryParse(trimmed);
  if (direct) return direct;
  const fence = /```(?:json)?\s*\n([\s\S]*?)```/.exec(trimmed);
  if (fence?.[1]) {
    const fenced = tryParse(fence[1].trim());
    if (fenced) return fenced;
  }
  // Scan for a balanced {...} that parses.
  for (let start = trimmed.indexOf('{'); start !== -1; start = trimmed.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < trimmed.length; i++) {
      const ch = trimmed[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        const parsed = tryParse(trimmed.slice(start, i + 1));
        if (parsed) return parsed;
        break;
      }
    }
  }
  return undefined;
}

// ---- validation -----------------------------------------------------------------------------------------

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SWITCH_PATH = /^\$(?:output|result|resume)?(?:\.[^.]+)*$/;
const POLICIES: readonly string[] = ['approve-all', 'approve-reads', 'deny'];

function decisionField(field: string | undefined, where: string): string {
  const value = field ?? 'route';
  if (!FIELD.test(value)) throw new FlowDefinitionError(`${where}: field ${JSON.stringify(value)} must be a simple key (${FIELD.source})`);
  return value;
}

function checkChoices(choices: unknown, where: string): void {
  if (!Array.isArray(choices) || choices.length === 0) throw new FlowDefinitionError(`${where}: choices must be a non-empty array`);
  const seen = new Set<string>();
  for (const choice of choices) {
    if (typeof choice !== 'string' || choice === '') throw new FlowDefinitionError(`${where}: choices must be non-empty strings`);
    if (seen.has(choice)) throw new FlowDefinitionError(`${where}: duplicate choice ${JSON.stringify(choice)}`);
    seen.add(choice);
  }
}

function checked<T extends FlowNodeDefinition>(node: T, where: string): T {
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
