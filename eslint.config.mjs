// Lint configuration. The local `hakit/layering` rule enforces docs/architecture.md, rule 4:
//  - pure code (any file in a folder named `pure`) imports only other pure code, the error
//    catalogue, and types; never node's I/O modules nor npm packages;
//  - leaf libraries import nothing of hakit outside their own folder;
//  - the web console imports only the API's contract types;
//  - nothing outside test/ imports from test/;
//  - the subsystems are ordered in layers (errors ← log ← config ← membership ← module ←
//    mirror/farm ← daemon ← api/cli): no import goes up, and only the composition roots
//    create real adapters (the rule's lists say which, and the seams kept, with reasons).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layering from './installers/lint/layering-rule.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mjs'],
    plugins: { hakit: { rules: { layering } } },
    rules: {
      'hakit/layering': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
    },
  },
);
