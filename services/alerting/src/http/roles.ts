import type { Role } from '@hishamos/platform';

/** Who may read alerting's configuration and history, and who may change it. */
export const READERS: Role[] = ['admin', 'operator', 'viewer'];
export const WRITERS: Role[] = ['admin', 'operator'];
