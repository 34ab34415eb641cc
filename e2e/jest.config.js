module.exports = { ...require('../jest.preset.js'), rootDir: __dirname, displayName: 'e2e', testTimeout: 300000 };
