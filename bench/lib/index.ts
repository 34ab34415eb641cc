export * from './args';
export * from './cpu';
export * from './machine';
export * from './results';
export * from './stats';
export * from './table';
export * from './timing';
