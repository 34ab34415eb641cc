import type { CliCommand } from './command';
import { decide } from './approve.command';

export const command: CliCommand = {
  name: 'reject',
  usage: ['reject <run-id> <step> [--comment text]    reject it: the run fails with your reason'],
  run: (args, env, out) => decide('reject', args, env, out),
};
