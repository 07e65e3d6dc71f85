// Tests run from TypeScript sources; `npm run build` type-checks, so ts-jest only transpiles.
// Two projects (docs/contributing.md, "Test tiers"):
//   unit   pure code, the simulation, servers on loopback: seconds, no root needed;
//          `npx jest --selectProjects unit` while changing pure code.
//   system everything that needs root: namespaces (the lab), nftables, FUSE, real daemons,
//          the Debian package, Chromium.
// `npm test` runs both.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
const common = {
  testEnvironment: 'node',
  transform,
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
const UNIT = ['<rootDir>/test/unit/', '<rootDir>/test/sim/', '<rootDir>/test/api/pure', '<rootDir>/test/lab/pure'];

/** @type {import('jest').Config} */
module.exports = {
  // Lab tests share one machine's namespaces and two cores: they run one file at a time.
  maxWorkers: 1,
  testTimeout: 60000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/test'],
      testMatch: UNIT.map((d) => `${d}**/*.test.ts`).concat(['<rootDir>/test/api/pure.test.ts', '<rootDir>/test/lab/pure.test.ts']),
    },
    {
      ...common,
      displayName: 'system',
      roots: ['<rootDir>/core', '<rootDir>/modules', '<rootDir>/filters', '<rootDir>/installers', '<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...UNIT.map((d) => d.replace('<rootDir>', '')), '/test/api/pure.test.ts', '/test/lab/pure.test.ts'],
    },
  ],
};
