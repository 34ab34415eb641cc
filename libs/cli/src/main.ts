import 'reflect-metadata';
import { ConfigError } from '@hishamos/platform';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, migrateCommand, status, up } from './commands';
import type { CliCommand } from './commands/command';

/** Commands contributed as `commands/<name>.command.(ts|js)`. */
function discovered(): CliCommand[] {
  const dir = join(__dirname, 'commands');
  return (
    readdirSync(dir)
      .filter((f) => /\.command\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort()
      // Commands are found at run time, so a synchronous require of each file is the point here.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      .map((f) => (require(join(dir, f)) as { command: CliCommand }).command)
  );
}

const USAGE = `hishamos <command>

  up                    start all six services in one process (embedded default; make run)
  status                health of every service
  migrate --all         provision schemas/roles and run migrations (DATABASE_ADMIN_URL)
  migrate --service S   the same for one service`;

function usage(commands: CliCommand[]): string {
  return [USAGE, ...commands.flatMap((c) => c.usage.map((u) => `  ${u}`))].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let liveLines = 0;
  const out = {
    log: (l: string) => {
      liveLines = 0;
      process.stdout.write(`${l}\n`);
    },
    live: (lines: string[]) => {
      if (process.stdout.isTTY && liveLines > 0) process.stdout.write(`\x1b[${liveLines}A\x1b[0J`);
      process.stdout.write(`${lines.join('\n')}\n`);
      liveLines = process.stdout.isTTY ? lines.length : 0;
    },
  };
  const [cmd, ...rest] = argv;
  const commands = discovered();
  const contributed = commands.find((c) => c.name === cmd);
  if (contributed) return contributed.run(rest, process.env, out);
  switch (cmd) {
    case 'up': {
      const platform = await up(process.env, out);
      platform.stopOnSignals(() => out.log('HishamOS stopped cleanly.'));
      return -1;
    }
    case 'status':
      return (await status(process.env, out)) ? 0 : 1;
    case 'migrate':
      await migrateCommand(rest, process.env, out);
      return 0;
    case undefined:
    case 'help':
    case '--help':
      out.log(usage(commands));
      return cmd ? 0 : 2;
    default:
      process.stderr.write(`unknown command '${cmd}'\n\n${usage(commands)}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: Error) => {
    const known = error instanceof CliError || error instanceof ConfigError;
    process.stderr.write(`hishamos: ${known ? error.message : `${error.name}: ${error.message}`}\n`);
    process.exit(1);
  },
);
