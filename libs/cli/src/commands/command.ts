import type { CliOut } from '../api-client';

/**
 * One CLI command. Every file `commands/<name>.command.ts` exports `command: CliCommand`; main.ts
 * finds them, so adding a command touches no other file.
 */
export interface CliCommand {
  name: string;
  /** One or more usage lines for `hishamos help`. */
  usage: string[];
  /** Returns the exit code. */
  run(args: string[], env: Record<string, string | undefined>, out: CliOut): Promise<number>;
}
