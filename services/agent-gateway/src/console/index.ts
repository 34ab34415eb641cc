export { ConsoleModule } from './console.module';
export { CONSOLE_DIST, CONSOLE_NOT_BUILT, ConsoleFiles } from './console-files';
