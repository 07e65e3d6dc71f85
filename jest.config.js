// Tests run from TypeScript sources; `npm run build` type-checks, so ts-jest only transpiles.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/core', '<rootDir>/modules', '<rootDir>/filters', '<rootDir>/installers', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  // Lab tests share one machine's namespaces and two cores: they run one file at a time.
  maxWorkers: 1,
  testTimeout: 60000,
};
