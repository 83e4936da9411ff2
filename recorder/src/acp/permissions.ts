// Answers session/request_permission from a fixed policy, so runs are unattended and reproducible.
//
// The policies, with the meaning ACP gives permission options and acpx gives its modes (README, "Permission
// policies", has the table):
//  - `approve-all` allows every tool call;
//  - `approve-reads` (the default) allows tool calls of kind `read` and `search` — they only look — and rejects
//    every other kind (`fetch` reaches the network, `think` and `other` may do anything, an unknown kind is unknown);
//  - `deny` rejects every tool call.
// "Allow" selects the agent's `allow_once` option (`allow_always` only when it offers no `allow_once`), "reject"
// its `reject_once` (`reject_always` only when it offers no `reject_once`): an unattended run answers each request
// by its policy and never grants or refuses anything for later requests or later sessions.
// An agent that asks but offers no way to refuse cannot be rejected: the turn is cancelled instead (the client
// sends `session/cancel`, then answers the request `cancelled`, as ACP requires after a cancel). An agent that
// offers no way to allow is answered with its reject option: that is the only answer it accepts short of a cancel.
import type { PermissionOption, RequestPermissionRequest, RequestPermissionResponse, ToolKind } from '@agentclientprotocol/sdk';

export type PermissionPolicy = 'approve-all' | 'approve-reads' | 'deny';

export const permissionPolicies: readonly PermissionPolicy[] = ['approve-all', 'approve-reads', 'deny'];

/** The policy of sessions whose node, flow and run name none. */
export const DEFAULT_PERMISSION_POLICY: PermissionPolicy = 'approve-reads';

/** Tool kinds that only look, never change anything or reach out: allowed under `approve-reads`. */
export const readOnlyToolKinds: ReadonlySet<ToolKind> = new Set<ToolKind>(['read', 'search']);

/** What `policy` wants for a tool call of `kind` (undefined: the agent gave none). */
export function policyVerdict(policy: PermissionPolicy, kind: ToolKind | undefined): 'allow' | 'reject' {
  if (policy === 'approve-all') return 'allow';
  if (policy === 'approve-reads' && kind !== undefined && readOnlyToolKinds.has(kind)) return 'allow';
  return 'reject';
}

export type PermissionDecision =
  /** Answer the request with this. */
  | { kind: 'answer'; response: RequestPermissionResponse }
  /** The policy rejects, but the agent offered no reject option: cancel the turn (`detail` says why, one phrase). */
  | { kind: 'cancel_turn'; detail: string };

/**
 * What `policy` does with `request`. `knownKind` is the tool kind announced earlier for this tool call (the request
 * itself may omit it).
 */
export function decidePermission(
  policy: PermissionPolicy,
  request: RequestPermissionRequest,
  knownKind?: ToolKind,
): PermissionDecision {
  const kind = request.toolCall.kind ?? knownKind;
  const options = Array.isArray(request.options) ? request.options : [];
  const allow = pick(options, ['allow_once', 'allow_always']);
  const reject = pick(options, ['reject_once', 'reject_always']);
  const verdict = policyVerdict(policy, kind);
  const chosen = verdict === 'allow' ? (allow ?? reject) : reject;
  if (chosen) return { kind: 'answer', response: { outcome: { outcome: 'selected', optionId: chosen.optionId } } };
  const title = typeof request.toolCall.title === 'string' ? ` "${request.toolCall.title}"` : '';
  const why = verdict === 'allow'
    ? 'the agent offered no option to select'
    : `the ${policy} policy rejects it but the agent offered no reject option`;
  return { kind: 'cancel_turn', detail: `tool call ${request.toolCall.toolCallId}${title} (kind ${kind ?? 'unknown'}): ${why}` };
}

function pick(options: readonly PermissionOption[], kinds: ReadonlyArray<PermissionOption['kind']>): PermissionOption | undefined {
  for (const kind of kinds) {
    const option = options.find((o) => o?.kind === kind && typeof o.optionId === 'string');
    if (option) return option;
  }
  return undefined;
}
