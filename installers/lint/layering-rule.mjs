// ESLint rule `hakit/layering` (docs/architecture.md, rule 4). Paths are compared relative to the repo root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folders whose files import nothing of hakit outside their own folder (leaf libraries). */
export const LEAF_FOLDERS = ['filters/buckets', 'core/mirror/blocksig'];
/** What pure code may import besides other pure code. */
const PURE_ALLOWED_FOLDERS = ['core/errors', 'filters/buckets'];
/** The only hakit folder the web console may import. */
const CONSOLE_ALLOWED_FOLDERS = ['core/api/contract'];
/** npm packages pure code may import: they do no I/O. */
const PURE_ALLOWED_PACKAGES = new Set([]);

const rel = (abs) => path.relative(repoRoot, abs).split(path.sep).join('/');
const isPure = (r) => /(^|\/)pure(\/|$)/.test(r);
const within = (r, folder) => r === folder || r.startsWith(folder + '/');

function classify(fromRel, spec, fromAbs) {
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const targetRel = rel(path.resolve(path.dirname(fromAbs), spec));
    return { kind: 'local', targetRel };
  }
  if (spec.startsWith('node:')) return { kind: 'builtin', name: spec.slice(5) };
  return { kind: 'package', name: spec };
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'enforce hakit layering (docs/architecture.md, rule 4)' },
    schema: [],
    messages: {
      pureImport: 'pure code ({{from}}) must not import {{what}}: return an effect for the runner instead',
      leafImport: 'leaf library {{from}} must not import {{what}} from outside its folder',
      consoleImport: 'the web console may import only core/api/contract, not {{what}}',
      testImport: 'only test/ may import test code ({{what}})',
    },
  },
  create(context) {
    const fromAbs = context.filename;
    const fromRel = rel(fromAbs);
    const leaf = LEAF_FOLDERS.find((f) => within(fromRel, f));

    function check(node, spec, typeOnly) {
      if (typeof spec !== 'string') return;
      const c = classify(fromRel, spec, fromAbs);
      if (c.kind === 'local') {
        const t = c.targetRel;
        if (within(t, 'test') && !within(fromRel, 'test')) {
          context.report({ node, messageId: 'testImport', data: { what: spec } });
        }
        if (leaf && !within(t, leaf)) {
          context.report({ node, messageId: 'leafImport', data: { from: fromRel, what: spec } });
        }
        if (within(fromRel, 'webconsole') && !within(t, 'webconsole') && !CONSOLE_ALLOWED_FOLDERS.some((f) => within(t, f))) {
          context.report({ node, messageId: 'consoleImport', data: { what: spec } });
        }
        if (isPure(fromRel) && !typeOnly && !isPure(t) && !PURE_ALLOWED_FOLDERS.some((f) => within(t, f))) {
          context.report({ node, messageId: 'pureImport', data: { from: fromRel, what: spec } });
        }
        return;
      }
      if (isPure(fromRel) && !typeOnly) {
        const allowed = c.kind === 'package' && PURE_ALLOWED_PACKAGES.has(c.name);
        if (!allowed) context.report({ node, messageId: 'pureImport', data: { from: fromRel, what: spec } });
      }
      if (leaf && !typeOnly && c.kind === 'package') {
        context.report({ node, messageId: 'leafImport', data: { from: fromRel, what: spec } });
      }
    }

    return {
      ImportDeclaration(node) {
        check(node, node.source.value, node.importKind === 'type');
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value, false);
      },
      CallExpression(node) {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments[0]?.type === 'Literal') {
          check(node, node.arguments[0].value, false);
        }
      },
    };
  },
};
