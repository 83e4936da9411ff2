// A file's last line without its newline, as `flowtape repair` finds it: kept and terminated when it is a complete
// record, cut when it is torn. Planned first (read only), applied once everything was checked.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { MAX_LINE_BYTES } from '@flowtape/schema';
import { checkWritable, O_NOFOLLOW } from '../bundle/confine.ts';
import type { RepairReport } from './repair.ts';
import { findLastNewline } from './repair-files.ts';

export interface TailPlan {
  file: string;
  path: string;
  size: number;
  /** Bytes of the file that stay. */
  keep: number;
  action: 'none' | 'terminate' | 'cut';
}

/**
 * A final line without its newline: kept (and terminated) when it is a complete record, cut when it is torn.
 * Complete lines are never touched. Only reads: `applyTail` does it.
 */
export async function planTail(path: string, file: string, isComplete: (line: string) => boolean, report: RepairReport): Promise<TailPlan> {
  // Never through a symlink (the kind of the file is checked again where it is changed).
  const handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
  try {
    const { size } = await handle.stat();
    const plan: TailPlan = { file, path, size, keep: size, action: 'none' };
    if (size === 0) return plan;
    const tailStart = (await findLastNewline(handle, size)) + 1;
    if (tailStart >= size) return plan;
    if (size - tailStart > MAX_LINE_BYTES) {
      // Longer than any reader takes: not read into memory to decide whether it is whole, and never cut unseen.
      report.warnings.push(
        `${file}: the last line has no newline and is ${size - tailStart} bytes, over the ${MAX_LINE_BYTES / 1024 / 1024} MiB line limit; left in place`,
      );
      return plan;
    }
    const tail = Buffer.alloc(size - tailStart);
    await handle.read(tail, 0, tail.length, tailStart);
    const text = tail.toString('utf8');
    if (text.trim() === '') return plan;
    if (isComplete(text)) return { ...plan, action: 'terminate' };
    return { ...plan, keep: tailStart, action: 'cut' };
  } finally {
    await handle.close();
  }
}

export function noteTail(plan: TailPlan, report: RepairReport): void {
  if (plan.action === 'none') return;
  report.changed = true;
  if (plan.action === 'terminate') report.terminatedLines.push(plan.file);
  else report.tornLines.push({ file: plan.file, bytes: plan.size - plan.keep });
}

export async function applyTail(plan: TailPlan): Promise<void> {
  if (plan.action === 'none') return;
  // Never through a symlink, and never a file with another hard link: cutting it would cut that file too.
  const handle = await open(plan.path, constants.O_RDWR | O_NOFOLLOW);
  try {
    checkWritable(await handle.stat(), plan.file, 'in-place');
    if (plan.action === 'terminate') await handle.write('\n', plan.size);
    else await handle.truncate(plan.keep);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
