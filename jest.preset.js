// Shared Jest settings: every project's jest.config.js spreads this.
// Unit tests are *.spec.ts beside the code; integration tests are *.int-spec.ts under test/.
const path = require('node:path');
const fs = require('node:fs');
const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));
delete swcrc.$schema;
const moduleNameMapper = {};
for (const group of ['libs', 'services']) {
  for (const name of fs.readdirSync(path.join(__dirname, group))) {
    const entry = path.join(__dirname, group, name, 'src', 'index.ts');
    if (fs.existsSync(entry)) moduleNameMapper[`^@hishamos/${name}$`] = entry;
  }
}
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testMatch: ['<rootDir>/**/*.spec.ts', '<rootDir>/**/*.int-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: [path.join(__dirname, 'jest.setup.js')],
  testTimeout: 60000,
};
