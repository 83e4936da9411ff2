// What the ACP client tells its caller (AcpAgentOptions' onTraffic, onUpdate, onPermission): each call guarded, since
// a throwing observer must not take the connection down with it.
import type { RequestPermissionRequest, RequestPermissionResponse, SessionNotification } from '@agentclientprotocol/sdk';
import type { AcpAgentOptions, AcpTrafficRecord } from './client-options.ts';
import type { Omitted } from './traffic.ts';

export class AgentObservers {
  constructor(private readonly options: Pick<AcpAgentOptions, 'onTraffic' | 'onUpdate' | 'onPermission'>) {}

  traffic(record: AcpTrafficRecord): void {
    this.call(() => this.options.onTraffic?.(record));
  }

  update(notification: SessionNotification): void {
    this.call(() => this.options.onUpdate?.(notification));
  }

  permission(request: RequestPermissionRequest, response: RequestPermissionResponse): void {
    this.call(() => this.options.onPermission?.(request, response));
  }

  /** One summary line for a stream that had output not recorded (once the stream is destroyed: the counts are final). */
  omitted(stream: 'stdout' | 'stderr', omitted: Omitted): void {
    if (omitted.bytes === 0) return;
    this.traffic({
      direction: stream === 'stdout' ? 'incoming' : 'stderr',
      text: omitted.summary(stream),
      omitted: { bytes: omitted.bytes, lines: omitted.lines },
    });
  }

  private call(call: () => void): void {
    try {
      call();
    } catch (error) {
      process.emitWarning(`flowtape ACP observer threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
