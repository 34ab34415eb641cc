import { join } from 'node:path';
import { CatalogError } from '@hishamos/catalog';
import { REPO_ROOT, type ServiceContext } from '@hishamos/platform';
import { CatalogRepository } from '../../catalog.repository';
import { SeedCatalogUseCase, type SeedCatalogReport } from './seed-catalog.usecase';

/**
 * For the gateway's onStart: seeds the catalog from `<repo>/seeds` (idempotent; see
 * SeedCatalogUseCase for what it writes). Throws when the seeds have problems (each is logged with
 * its file and field), so a broken seed stops the deploy instead of running a half catalog.
 */
export async function seedCatalogOnStart(
  ctx: Pick<ServiceContext, 'db' | 'logger'>,
  options: { seedsDir?: string } = {},
): Promise<SeedCatalogReport> {
  const seedsDir = options.seedsDir ?? join(REPO_ROOT, 'seeds');
  const started = Date.now();
  try {
    const report = await new SeedCatalogUseCase(new CatalogRepository(ctx), ctx).execute({ seedsDir });
    ctx.logger.info(
      {
        seedsDir,
        ms: Date.now() - started,
        agentsCreated: report.agents.created.length,
        agentsUpdated: report.agents.updated.length,
        commandsCreated: report.commands.created.length,
        commandsVersioned: report.commands.versioned,
        productionKept: report.commands.productionKept,
        unchanged: report.commands.unchanged,
      },
      'catalog seeded',
    );
    return report;
  } catch (error: unknown) {
    if (error instanceof CatalogError) {
      ctx.logger.error({ seedsDir, problems: error.problems }, 'the seed catalog is invalid; nothing was seeded');
    }
    throw error;
  }
}
