// Usage of one ACP session, turn by turn: collects `usage_update` notifications (at any time) and the `usage` of
// each prompt answer, and gives each turn its payload for `acp.turn_finished` (SPEC.md, "Usage and cost").
import {
  emptyUsageReport,
  readPromptUsage,
  readUsageUpdate,
  toTurnUsage,
  type CostAmount,
  type TurnUsage,
  type UsageReport,
} from '@flowtape/schema';

export class UsageMeter {
  /** The turn being collected (undefined between turns). */
  private turn: UsageReport | undefined;
  /** The session's cumulative cost as last reported, at any time. */
  private reported: CostAmount | undefined;
  /** The part of `reported` already given to a turn, or reported before the session's first turn. */
  private accounted: CostAmount | undefined;
  private turns = 0;
  /** Updates since the last turn finished: the next turn's cost, or the session's late usage if no turn follows. */
  private since: UsageReport | undefined;

  /** A `usage_update` (the notification's `update`), whenever it arrives. */
  onUpdate(update: Record<string, unknown>): void {
    // Before the first turn only the cost matters (the baseline of a loaded session).
    const report = this.turn ?? (this.turns > 0 ? (this.since ??= emptyUsageReport()) : emptyUsageReport());
    readUsageUpdate(report, update);
    if (report.sessionCost) this.reported = report.sessionCost;
  }

  startTurn(): void {
    // What the session cost before flowtape's first prompt (a loaded session) is no turn's.
    if (this.turns++ === 0) this.accounted = this.reported;
    this.turn = emptyUsageReport();
    // A cost reported between turns counts in this one (finishTurn); the rest of those updates is superseded.
    this.since = undefined;
  }

  /**
   * When the session closes: what was reported after its last turn (updates that came after the last answer),
   * with the cost no turn accounted for; undefined when nothing came. Called once; a second call gives undefined.
   */
  late(): TurnUsage | undefined {
    const report = this.since;
    this.since = undefined;
    if (!report || this.turn) return undefined;
    if (report.sessionCost && sameCost(report.sessionCost, this.accounted)) delete report.sessionCost;
    const usage = toTurnUsage(report, this.accounted);
    if (report.sessionCost) this.accounted = report.sessionCost;
    return usage;
  }

  /** The turn's usage payload; `promptUsage` is the `usage` of the prompt answer, as sent. */
  finishTurn(promptUsage?: unknown): TurnUsage | undefined {
    const report = this.turn ?? emptyUsageReport();
    this.turn = undefined;
    if (promptUsage !== undefined) readPromptUsage(report, promptUsage);
    // A cost reported between turns (after the previous answer) is counted in this one.
    if (!report.sessionCost && this.reported && !sameCost(this.reported, this.accounted)) report.sessionCost = this.reported;
    const usage = toTurnUsage(report, this.accounted);
    if (report.sessionCost) this.accounted = report.sessionCost;
    return usage;
  }
}

function sameCost(a: CostAmount, b: CostAmount | undefined): boolean {
  return b !== undefined && a.amount === b.amount && a.currency === b.currency;
}
