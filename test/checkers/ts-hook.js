// Lets a plain `node` child (inside a lab host) require the TypeScript sources directly:
// each .ts file is transpiled to CommonJS on load (no type check; jest does the same).
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function load(module, filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }, fileName: filename });
  module._compile(out.outputText, filename);
};
