export * from './commands';
export * from './services';
