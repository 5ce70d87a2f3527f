import { Command } from 'commander';
import { registerAdminKey } from './commands/admin-key.ts';
import { registerAudit } from './commands/audit.ts';
import { registerKeys } from './commands/keys.ts';
import { registerOwners } from './commands/owners.ts';
import { registerPrices } from './commands/prices.ts';
import { registerProjects } from './commands/projects.ts';
import { registerScan } from './commands/scan.ts';
import { registerStart } from './commands/start.ts';
import { registerUpstreams } from './commands/upstreams.ts';
import { registerUsage } from './commands/usage.ts';

/** The CLI's commands, as one commander program: main.ts runs it, docs/cli.md is generated from it. */
export function buildCli(): Command {
  const program = new Command('keywarden')
    .description('keywarden: issue, verify, limit, meter, rotate and revoke API keys')
    .version('0.1.0')
    .showHelpAfterError();
  registerStart(program);
  registerAdminKey(program);
  registerKeys(program);
  registerOwners(program);
  registerProjects(program);
  registerUpstreams(program);
  registerAudit(program);
  registerUsage(program);
  registerPrices(program);
  registerScan(program);
  return program;
}
