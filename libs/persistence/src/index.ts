export * from './database';
export * from './migrator';
export * from './async-mutex';
export { PGlitePool, pgliteDriverModule } from './pglite-pool';
