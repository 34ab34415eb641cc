export * from './harness';
export * from './sinks';
export * from './observability';
export * from './ports';
export * from './processes';
