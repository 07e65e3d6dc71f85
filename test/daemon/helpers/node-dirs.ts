// A throw-away hakit node file tree (conf, state with one installed module, run, log) for
// daemon tests; every path is under one temp dir removed by `remove()`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface NodeDirs {
  readonly root: string;
  readonly conf: string;
  readonly state: string;
  readonly run: string;
  readonly log: string;
  remove(): void;
}

export function makeNodeDirs(tag: string, clusterXml: string, key: Buffer, modules: Record<string, { userconfig: string; scripts: Record<string, string> }>): NodeDirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `hd-${tag}-`));
  const conf = path.join(root, 'etc');
  const state = path.join(root, 'var-lib');
  const run = path.join(root, 'run');
  const log = path.join(root, 'log');
  fs.mkdirSync(conf, { recursive: true });
  fs.writeFileSync(path.join(conf, 'cluster.xml'), clusterXml.replace('KEYFILE', path.join(conf, 'cluster.key')));
  fs.writeFileSync(path.join(conf, 'cluster.key'), key, { mode: 0o600 });
  for (const [name, m] of Object.entries(modules)) {
    const dir = path.join(state, 'modules', name);
    fs.mkdirSync(path.join(dir, 'conf'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'conf', 'userconfig.xml'), m.userconfig);
    for (const [script, body] of Object.entries(m.scripts)) fs.writeFileSync(path.join(dir, 'bin', script), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return { root, conf, state, run, log, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}
