import 'reflect-metadata';
import { ConfigError } from '@hishamos/platform';
import { CliError, migrateCommand, status, up } from './commands';

const USAGE = `hishamos <command>

  up                    start all six services in one process (embedded default; make run)
  status                health of every service
  migrate --all         provision schemas/roles and run migrations (DATABASE_ADMIN_URL)
  migrate --service S   the same for one service`;

async function main(argv: string[]): Promise<number> {
  const out = { log: (l: string) => process.stdout.write(`${l}\n`) };
  const [cmd, ...rest] = argv;
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
      out.log(USAGE);
      return cmd ? 0 : 2;
    default:
      process.stderr.write(`unknown command '${cmd}'\n\n${USAGE}\n`);
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
