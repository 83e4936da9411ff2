// Public surface of the ACP client.
export { AcpAgent, type AcpAgentOptions, type AcpTrafficRecord, type PromptOptions } from './client.ts';
export { AcpError, type AcpErrorCode, type AcpErrorDetails } from './errors.ts';
export {
  decidePermission,
  DEFAULT_PERMISSION_POLICY,
  permissionPolicies,
  policyVerdict,
  readOnlyToolKinds,
  type PermissionDecision,
  type PermissionPolicy,
} from './permissions.ts';
export { isGroupAlive, isProcessAlive } from './process.ts';
export { AGENT_OUTPUT_CAP_BYTES } from './traffic.ts';
export { authEnvName, chooseAuthMethod, type AuthChoice } from './auth.ts';
