export { CatalogModule } from './catalog.module';
export { CatalogRepository, type SeededAgentState, type SeededCommandState } from './catalog.repository';
export type * from './catalog.types';
export { DRAFT, LATEST, PRODUCTION, SEED, SEED_ACTOR, SYSTEM_LABELS, LABEL_PATTERN } from './template-labels';
export {
  SeedCatalogUseCase,
  SeedCatalogCommand,
  type SeedCatalogReport,
} from './usecases/seed-catalog/seed-catalog.usecase';
export { seedCatalogOnStart } from './usecases/seed-catalog/seed-catalog-on-start';
export { GetCommandUseCase, GetCommandQuery } from './usecases/get-command/get-command.usecase';
export {
  CreateTemplateVersionUseCase,
  CreateTemplateVersionCommand,
} from './usecases/create-template-version/create-template-version.usecase';
export {
  SetTemplateLabelUseCase,
  SetTemplateLabelCommand,
} from './usecases/set-template-label/set-template-label.usecase';
