// A prompt in flight on one ACP session: its answer, the permission policy that answers its requests, and how that
// policy cancels it.
import type { PromptResponse } from '@agentclientprotocol/sdk';
import type { PermissionPolicy } from './permissions.ts';
import type { Settled } from './settle.ts';

export interface TurnInFlight {
  answer: Promise<Settled<PromptResponse>>;
  policy: PermissionPolicy | undefined;
  /** Set when the permission policy cancelled the turn: why, one phrase. */
  policyDetail: string | undefined;
  cancelledByPolicy: Promise<{ kind: 'policy' }>;
  stop(): void;
}

export function turnInFlight(answer: Promise<Settled<PromptResponse>>, policy: PermissionPolicy | undefined): TurnInFlight {
  let stop!: () => void;
  const cancelledByPolicy = new Promise<{ kind: 'policy' }>((resolve) => (stop = () => resolve({ kind: 'policy' })));
  return { answer, policy, policyDetail: undefined, cancelledByPolicy, stop };
}
