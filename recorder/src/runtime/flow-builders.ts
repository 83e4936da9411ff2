// The flow authoring API's builders (defineFlow, acp, compute, action, shell, checkpoint, decision, decisionEdge):
// they only validate and tag, keeping the author's object (no copies).
import { FlowDefinitionError } from './errors.ts';
import type { AcpNodeDefinition, ActionNodeDefinition, CheckpointNodeDefinition, ComputeNodeDefinition, DecisionNodeDefinition, FlowDefinition, FlowNodeContext, FunctionActionNodeDefinition, MaybePromise, ShellActionNodeDefinition, SwitchFlowEdge } from './definition.ts';
import { checkChoices, checked, decisionField, validateFlow } from './flow-validation.ts';

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
