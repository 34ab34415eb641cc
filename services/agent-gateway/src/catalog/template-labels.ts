/**
 * Label rules.
 *
 * - `production`: the version that runs when a caller names no version or label.
 * - `latest`: the newest version written by the seeder or an admin (suggestion drafts do not move it).
 * - `seed`: the newest version written by the seeder.
 * - `draft`: the newest draft from feedback-ml's template suggestions; never `production` by itself.
 * - anything else matching LABEL_PATTERN: custom labels admins move (e.g. `canary`, `experiment-b`).
 *
 * `latest` and `seed` are kept by the system; admins move the others, and a rollback is moving
 * `production` back to an earlier version.
 */
export const PRODUCTION = 'production';
export const LATEST = 'latest';
export const SEED = 'seed';
export const DRAFT = 'draft';

export const LABEL_PATTERN = /^[a-z][a-z0-9_-]{0,39}$/;
/** Labels only the system moves. */
export const SYSTEM_LABELS: readonly string[] = [LATEST, SEED];

/** The actor the seeder writes as (in created_by / updated_by). */
export const SEED_ACTOR = 'system:seed';
