// Lets a child `node` process run hakit's TypeScript sources directly (for tests that must
// run code inside a network namespace, where jest's own transform is not available).
// Usage: node -r ./test/daemon/helpers/ts-register.cjs some-script.ts
// Transpiled files are cached by content hash (loading the compiler costs more than the run).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

const CACHE_DIR = path.join(os.tmpdir(), 'hd-ts-cache');
let ts;

function transpile(source, filename) {
  const hash = crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex').slice(0, 32);
  const cached = path.join(CACHE_DIR, `${hash}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // Not cached yet.
  }
  ts ??= require('typescript');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  }).outputText;
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, cached);
  } catch {
    // A cache we cannot write only costs time.
  }
  return out;
}

require.extensions['.ts'] = function compileTs(module, filename) {
  module._compile(transpile(fs.readFileSync(filename, 'utf8'), filename), filename);
};
