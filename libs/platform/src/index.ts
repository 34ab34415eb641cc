export * from './config/platform-config.dto';
export * from './logger';
export * from './metrics';
export * from './tracing';
export * from './service-context';
export * from './health.controller';
export * from './platform-runtime';
