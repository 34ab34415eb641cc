export * from './commands';
export * from './services';
export * from './api-client';
export * from './commands/command';
