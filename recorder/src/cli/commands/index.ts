// Every `flowtape` command. To add one: write a module exporting a CliCommand and list it here.
import type { CliCommand } from '../context.ts';
import { lsCommand } from './ls.ts';
import { resumeCommand } from './resume.ts';
import { runCommand } from './run.ts';
import { verifyCommand } from './verify.ts';
import { viewCommand } from './view.ts';
import { diffCommand } from './diff.ts';
import { repairCommand } from './repair.ts';
import { packCommand } from './pack.ts';
import { importCommand } from './import.ts';
import { checkCommand } from './check.ts';
import { replayCommand } from './replay.ts';
import { exportCommand } from './export.ts';
import { indexCommand } from './runs-index.ts';

// Modules here import only commander and small helpers; each action imports what it needs when it runs, so
// `flowtape --help` and every command load only their own code.
export const commands: CliCommand[] = [
  runCommand,
  checkCommand,
  resumeCommand,
  lsCommand,
  verifyCommand,
  viewCommand,
  diffCommand,
  repairCommand,
  packCommand,
  importCommand,
  replayCommand,
  exportCommand,
  indexCommand,
];
