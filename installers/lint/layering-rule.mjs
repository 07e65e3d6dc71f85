// ESLint rule `hakit/layering` (docs/architecture.md, rule 4). Paths are compared relative to the repo root.
import fs from 'node:fs';
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

/**
 * The subsystems in layers (docs/architecture.md, "Layers"): a file may import its own
 * subsystem and the subsystems of lower layers only; never a higher layer, nor a sibling of
 * its own layer (mirror, farm and witness know nothing of each other). Type-only imports
 * count too: a type circle between two layers is still a circle. Folders not listed here
 * (tests, installers, the web console) are not ordered by this part of the rule.
 */
export const SUBSYSTEM_LAYERS = [
  ['errors'],
  ['log'],
  ['net', 'scripts', 'filters'],
  ['config'],
  ['membership', 'modules'],
  ['module'],
  ['control'],
  ['mirror', 'farm', 'witness', 'rules'],
  ['checkers'],
  ['monitor', 'whatif'],
  ['cluster'],
  ['daemon'],
  ['api'],
  ['cli'],
];
const LAYER_OF = new Map(SUBSYSTEM_LAYERS.flatMap((names, i) => names.map((n) => [n, i])));

/**
 * Composition roots: the programs' entry points. They wire every layer together, so the
 * order does not apply to them, and they alone create real adapters.
 */
export const COMPOSITION_ROOTS = ['core/daemon/main.ts', 'core/witness/main.ts', 'core/cli/main.ts', 'core/daemon/api-host.ts'];

/**
 * Imports against the order that are kept on purpose: [from file, to file or folder, why].
 * Each one is a known seam; remove the entry when the seam is redone.
 */
export const LAYER_EXCEPTIONS = [
  ['core/module/pure/machine.ts', 'core/farm/pure/machine.ts', "one step() per module: the module machine dispatches on the mode to the farm's STOP/WAIT/UP handlers, which live with the farm"],
  ['core/module/runner/replication-mirror.ts', 'core/mirror', "the runner's replication port names the mirror engine's types (type-only); the engine is built by the daemon (core/daemon/mirror-wire.ts)"],
  ['core/module/runner/module-runner.ts', 'core/control/api.ts', "ModuleStatus is the control protocol's report of a runner and the runner fills it (type-only)"],
  ['core/rules/pure/plan.ts', 'core/checkers/pure/types.ts', 'a rule names the checker events it reacts to (type-only); the checkers run the rules'],
  ['core/config/cluster-store.ts', 'core/membership/wire/limits.ts', "the cluster key's minimum length is a property of the heartbeat MAC; config only checks the key file against it"],
  ['core/cluster/bootstrap.ts', 'core/api/tls', "a new cluster's CA and node certificates are made with the API's TLS files"],
  ['core/cluster/bootstrap.ts', 'core/api/users', "the first admin is written with the API's user store"],
  ['core/cluster/config-service.ts', 'core/api/tls', "a joining node gets its certificate from the API's TLS files"],
  ['core/cluster/config-service.ts', 'core/api/users', "a joining node gets the users from the API's user store"],
];

/** Classes that do real I/O behind a port: only composition roots create them (`new`). */
export const REAL_ADAPTERS = new Set([
  'NftFilterBackend',
  'IpVipManager',
  'RealCommandRunner',
  'RealProcessRunner',
  'UdpTransport',
  'UdpWitnessClient',
  'FileIncarnationFloors',
  'FileStateStore',
  'HttpsPeerClient',
  'HelperNotifier',
  'MirrorReplication',
]);

/** Files outside the roots that create real adapters today: [file, why]. */
export const ADAPTER_EXCEPTIONS = [
  ['core/daemon/daemon.ts', "hakitd's wiring: main.ts builds the Daemon, which builds per config and per module the adapters its options do not override (tests override them with fakes)"],
  ['core/daemon/mirror-wire.ts', "hakitd's wiring of one mirror module's replication, called by daemon.ts at module load"],
  ['core/daemon/systemd/notifier.ts', "systemdSession() is the notifier's own factory, called by the roots (hakitd, hakit-witness)"],
  ['core/membership/transport/udp-transport.ts', 'the transport keeps its incarnation floors in the file the root names (floors_file)'],
  ['core/witness/server.ts', "the witness keeps its incarnation floors beside the state file the root names"],
  ['core/api/server/api-server.ts', 'the peer client is built from the cluster key and TLS files the API host passes, unless a test passes one'],
  ['core/cli/commands/cluster-bootstrap.ts', 'a CLI command is run by the CLI root; it needs the real `ip` runner to list addresses'],
  ['core/cluster/config-service.ts', "the join service lists this node's addresses with the real `ip` runner"],
];

const rel = (abs) => path.relative(repoRoot, abs).split(path.sep).join('/');
/** The subsystem a repo-relative path belongs to: core/NAME, filters, modules; else null. */
export function subsystemOf(r) {
  const m = /^core\/([^/]+)\//.exec(r);
  if (m) return m[1];
  const top = r.split('/')[0];
  return top === 'filters' || top === 'modules' ? top : null;
}
/** Resolves `spec` as TypeScript does for the repo's layout: FILE.ts, FILE.tsx, FOLDER/index.ts. */
function resolveTs(targetRel) {
  if (/\.(ts|tsx|mjs)$/.test(targetRel)) return targetRel;
  for (const c of [`${targetRel}.ts`, `${targetRel}.tsx`, `${targetRel}/index.ts`]) {
    if (fs.existsSync(path.join(repoRoot, c))) return c;
  }
  return targetRel.replace(/\.js$/, '.ts');
}
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
      layerImport: '{{from}} (layer {{fromLayer}}) must not import {{what}} ({{to}}, layer {{toLayer}}): a layer imports only lower layers (docs/architecture.md, "Layers")',
      adapterNew: 'only a composition root creates the real adapter {{what}}: take it (or a factory) as an option from the root (docs/architecture.md, "Layers")',
    },
  },
  create(context) {
    const fromAbs = context.filename;
    const fromRel = rel(fromAbs);
    const leaf = LEAF_FOLDERS.find((f) => within(fromRel, f));
    const fromSub = subsystemOf(fromRel);
    const isRoot = COMPOSITION_ROOTS.includes(fromRel);

    function checkLayer(node, spec, targetRel) {
      if (fromSub === null || isRoot || !LAYER_OF.has(fromSub)) return;
      const t = resolveTs(targetRel);
      const toSub = subsystemOf(t);
      if (toSub === null || toSub === fromSub || !LAYER_OF.has(toSub)) return;
      const a = LAYER_OF.get(fromSub);
      const b = LAYER_OF.get(toSub);
      if (b < a) return;
      if (LAYER_EXCEPTIONS.some(([f, to]) => f === fromRel && within(t, to))) return;
      context.report({ node, messageId: 'layerImport', data: { from: fromSub, fromLayer: String(a), what: spec, to: toSub, toLayer: String(b) } });
    }

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
        checkLayer(node, spec, t);
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

    const mayCreateAdapters = fromSub === null || isRoot || ADAPTER_EXCEPTIONS.some(([f]) => f === fromRel);

    return {
      NewExpression(node) {
        if (!mayCreateAdapters && node.callee.type === 'Identifier' && REAL_ADAPTERS.has(node.callee.name)) {
          context.report({ node, messageId: 'adapterNew', data: { what: node.callee.name } });
        }
      },
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
