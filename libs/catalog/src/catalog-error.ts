import type { CatalogProblem } from './catalog.types';

export function formatProblem(problem: CatalogProblem): string {
  return `${problem.file}: ${problem.field}: ${problem.message}`;
}

/** Thrown by loadCatalog when the seeds have problems; lists every one with its file and field. */
export class CatalogError extends Error {
  readonly problems: CatalogProblem[];

  constructor(problems: CatalogProblem[]) {
    super(
      `The seed catalog has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'CatalogError';
    this.problems = problems;
  }
}
