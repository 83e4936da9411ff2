// Answers session/request_permission from a fixed policy, so runs are unattended and reproducible.
import type { PermissionOption, RequestPermissionRequest, RequestPermissionResponse, ToolKind } from '@agentclientprotocol/sdk';

export type PermissionPolicy = 'approve-all' | 'approve-reads' | 'deny';

export const permissionPolicies: readonly PermissionPolicy[] = ['approve-all', 'approve-reads', 'deny'];

/** Tool kinds that only look, never change anything: approved under `approve-reads`. */
export const readOnlyToolKinds: ReadonlySet<ToolKind> = new Set<ToolKind>(['read', 'search', 'fetch', 'think']);

/**
 * The answer `policy` gives to `request`. `knownKind` is the tool kind announced earlier for this tool call
 * (the request itself may omit it). Without a fitting option the answer is `cancelled`.
 */
export function decidePermission(
  policy: PermissionPolicy,
  request: RequestPermissionRequest,
  knownKind?: ToolKind,
): RequestPermissionResponse {
  const kind = request.toolCall.kind ?? knownKind;
  const allow = policy === 'approve-all' || (policy === 'approve-reads' && kind !== undefined && readOnlyToolKinds.has(kind));
  const preference: PermissionOption['kind'][] = allow ? ['allow_once', 'allow_always'] : ['reject_once', 'reject_always'];
  for (const optionKind of preference) {
    const option = request.options.find((o) => o.kind === optionKind);
    if (option) return { outcome: { outcome: 'selected', optionId: option.optionId } };
  }
  return { outcome: { outcome: 'cancelled' } };
}
