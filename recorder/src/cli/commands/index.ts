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

export const commands: CliCommand[] = [runCommand, resumeCommand, lsCommand, verifyCommand, viewCommand];
commands.push(diffCommand, repairCommand, packCommand, importCommand);
