// The command table. Each module is light: heavy capabilities load inside run().
import type { CommandDef } from '../command.js';
import { alertCommand } from './alert.js';
import { initCommand } from './init.js';
import { listCommand } from './list.js';
import { monitorCommand } from './monitor.js';
import { promoteCommand } from './promote.js';
import { registerCommand } from './register.js';
import { rollbackCommand } from './rollback.js';
import { showCommand } from './show.js';
import { driftCheckCommand } from './drift-check.js';
import { driftCommand } from './drift.js';
import { demoCommand } from './demo.js';
import { serveCommand } from './serve.js';
import { abCommand } from './ab.js';
import { deployCommand } from './deploy.js';
import { registryCommand } from './registry.js';
import { buildCommand } from './build.js';
import { uiCommand } from './ui.js';
import { experimentCommand } from './experiment.js';

// One command a line, so that branches adding commands merge cleanly.
export const COMMANDS: CommandDef[] = [
  initCommand,
  registerCommand,
  listCommand,
  showCommand,
  promoteCommand,
  rollbackCommand,
  serveCommand,
  driftCheckCommand,
  driftCommand,
  abCommand,
  buildCommand,
  deployCommand,
  alertCommand,
  monitorCommand,
  demoCommand,
  registryCommand,
  uiCommand,
  experimentCommand,
];
