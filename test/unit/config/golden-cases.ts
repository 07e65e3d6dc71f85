// One case per error code: how to provoke it, as the first issue line `CODE: where: message`.
// Used by golden.test.ts; each case runs in a fresh temp dir (HAKIT_CONF_DIR/HAKIT_STATE_DIR).
import fs from 'node:fs';
import path from 'node:path';
import { genKey, installCluster, readKey } from '../../../core/config/cluster-store';
import { loadUserConfig, parseClusterText, parseUserConfigText } from '../../../core/config/load';
import { crossCheckCluster, crossCheckModules } from '../../../core/config/pure/cross-check';
import type { ConfigIssue } from '../../../core/config/pure/xml-tree';
import { isHakitError } from '../../../core/errors/catalogue';
import { checkModuleDir } from '../../../modules/safe/check-module';
import { packModule } from '../../../modules/safe/pack';
import { unpackSafe } from '../../../modules/safe/unpack';
import { checkModuleName, checkUninstallable, installModule, rollbackModule, uninstallModule } from '../../../modules/store/module-store';
import { releasesDir } from '../../../core/config/paths';
import { goodEntries, rawZip, SCRIPT, USERCONFIG_OK, type RawEntry } from '../modules/raw-zip';
import { CLUSTER_XML, cluster, farmXml, mirrorXml, okConfig } from './fixtures';

export type Case = (tmp: string) => Promise<string> | string;

const first = (issues: readonly ConfigIssue[]): string => {
  const i = issues[0];
  return i ? `${i.code}: ${i.where}: ${i.message}` : 'no issue';
};
const issuesOfChecked = (r: { ok: true } | { ok: false; errors: readonly ConfigIssue[] }): readonly ConfigIssue[] => (r.ok ? [] : r.errors);
const uc = (xml: string): string => {
  const r = parseUserConfigText(xml);
  return r.ok ? 'no issue' : first(r.errors);
};
const cl = (xml: string): string => {
  const r = parseClusterText(xml, 'cluster.xml', '/etc/hakit');
  return r.ok ? 'no issue' : first(r.errors);
};
const caught = async (fn: () => unknown): Promise<string> => {
  try {
    await fn();
    return 'no error';
  } catch (e) {
    if (isHakitError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
};
const moduleDirWith = (tmp: string, files: Record<string, { data: string | Buffer; mode?: number }>): string => {
  const dir = path.join(tmp, 'mod');
  for (const [rel, f] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), f.data, { mode: f.mode ?? 0o644 });
  }
  return dir;
};
const goodDir = { 'conf/userconfig.xml': { data: USERCONFIG_OK }, 'bin/start_prim': { data: SCRIPT, mode: 0o755 }, 'bin/stop_prim': { data: SCRIPT, mode: 0o755 } };
const moduleIssue = (dir: string): string => {
  const r = checkModuleDir(dir, { name: 'mod', cluster: cluster(), others: [] });
  return r.ok ? 'no issue' : first(r.errors);
};
const unpack = (tmp: string, entries: RawEntry[]) => {
  const file = path.join(tmp, 'bad.safe');
  fs.writeFileSync(file, rawZip(entries));
  fs.mkdirSync(path.join(tmp, 'out'));
  return caught(() => unpackSafe(file, path.join(tmp, 'out')));
};
const withCluster = (tmp: string) => {
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  installCluster(path.join(tmp, 'cluster.xml'));
};
const writeSafe = (tmp: string, entries: RawEntry[], name = 'mod.safe') => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, rawZip(entries));
  return file;
};
const otherModule = (xml: string) => [{ name: 'other', config: okConfig(xml) }];

export const CASES: Record<string, Case> = {
  HAKIT_E_CONF_READ: () => first(issuesOfChecked(loadUserConfig('/nonexistent/hakit-cfg/userconfig.xml'))),
  HAKIT_E_CONF_TOO_BIG: (tmp) => {
    fs.writeFileSync(path.join(tmp, 'big.xml'), Buffer.alloc(1024 * 1024 + 1, 0x20));
    return first(issuesOfChecked(loadUserConfig(path.join(tmp, 'big.xml'))));
  },
  HAKIT_E_CONF_XML: () => uc('<safe>\n<service mode="mirror">\n</safe>\n'),
  HAKIT_E_CONF_DOCTYPE: () => uc('<!DOCTYPE safe [<!ENTITY x "y">]>\n<safe/>\n'),
  HAKIT_E_CONF_TOO_DEEP: () => uc(`${'<safe>'.repeat(40)}${'</safe>'.repeat(40)}`),
  HAKIT_E_CONF_ROOT: () => uc('<config/>'),
  HAKIT_E_CONF_UNKNOWN_ELEMENT: () => uc(mirrorXml('<bogus/>')),
  HAKIT_E_CONF_UNKNOWN_ATTR: () => uc(mirrorXml('', 'nodes="node1 node2" colour="red"')),
  HAKIT_E_CONF_MISSING_ATTR: () => uc('<safe>\n<service mode="mirror">\n<heart><heartbeat/></heart>\n</service>\n</safe>'),
  HAKIT_E_CONF_MISSING_ELEMENT: () => uc('<safe>\n<service mode="mirror">\n<heart></heart>\n</service>\n</safe>'),
  HAKIT_E_CONF_TOO_MANY: () => uc(mirrorXml('<user/>\n<user/>')),
  HAKIT_E_CONF_TEXT: () => uc(mirrorXml('<user>hello</user>')),
  HAKIT_E_CONF_BAD_VALUE: () => uc(farmXml('<vip><interface_list><interface><virtual_interface vmac="01:00:5e:zz"><virtual_addr addr="198.18.0.151"/></virtual_interface></interface></interface_list><rule port="80"/></vip>')),
  HAKIT_E_CONF_BAD_NAME: () => uc('<safe>\n<service mode="mirror">\n<heart><heartbeat name="my lan"/></heart>\n</service>\n</safe>'),
  HAKIT_E_CONF_BAD_ENUM: () => uc('<safe>\n<service mode="cluster"/>\n</safe>'),
  HAKIT_E_CONF_BAD_NUMBER: () => uc(mirrorXml('', 'maxloop="many"')),
  HAKIT_E_CONF_BAD_DURATION: () => uc(mirrorXml('', 'loop_interval="soon"')),
  HAKIT_E_CONF_BAD_SIZE: () => uc(mirrorXml('<rfs bandwidth="fast"><replicated dir="/srv/a"/></rfs>')),
  HAKIT_E_CONF_BAD_ADDR: (tmp) => {
    const src = path.resolve(__dirname, '../../../modules/examples/mirror_http/conf/userconfig.xml');
    fs.writeFileSync(path.join(tmp, 'userconfig.xml'), fs.readFileSync(src, 'utf8').replace('198.18.0.150', '10.0.0.300'));
    return first(issuesOfChecked(loadUserConfig(path.join(tmp, 'userconfig.xml'))));
  },
  HAKIT_E_CONF_BAD_PORT: () => uc(mirrorXml('<check><tcp ident="web"><to addr="127.0.0.1" port="0"/></tcp></check>')),
  HAKIT_E_CONF_BAD_PATH: () => uc(mirrorXml('<rfs><replicated dir="srv/data"/></rfs>')),
  HAKIT_E_CONF_BAD_REGEX: () => uc(mirrorXml('<rfs><replicated dir="/srv/a"><notreplicated regexpath="(tmp"/></replicated></rfs>')),
  HAKIT_E_CONF_MACRO_UNDEFINED: () => uc(mirrorXml('<rfs><replicated dir="%DATA%"/></rfs>')),
  HAKIT_E_CONF_MACRO_DUPLICATE: () => uc('<safe>\n<macro name="A" value="1"/>\n<macro name="A" value="2"/>\n<service mode="farm"/>\n</safe>'),
  HAKIT_E_CONF_DUPLICATE: () => uc('<safe>\n<service mode="mirror">\n<heart>\n<heartbeat name="default"/>\n<heartbeat name="default"/>\n</heart>\n</service>\n</safe>'),
  HAKIT_E_CONF_UNKNOWN_NODE: () => first(crossCheckCluster(okConfig(mirrorXml('', 'nodes="node1 node9"')), cluster(), 'userconfig.xml')),
  HAKIT_E_CONF_UNKNOWN_LAN: () => first(crossCheckCluster(okConfig('<safe>\n<service mode="mirror" nodes="node1 node2">\n<heart><heartbeat name="backup"/></heart>\n</service>\n</safe>'), cluster(), 'userconfig.xml')),
  HAKIT_E_CONF_UNKNOWN_REF: () => uc(mirrorXml('<failover><rule name="r1" when="web" action="stopstart"/></failover>')),
  HAKIT_E_CONF_MIRROR_NODES: () => first(crossCheckCluster(okConfig(mirrorXml('', '')), cluster(), 'userconfig.xml')),
  HAKIT_E_CONF_LIGHT_NODES: () => uc('<safe>\n<service mode="light" nodes="node1 node2"/>\n</safe>'),
  HAKIT_E_CONF_FARM_NODES: () => uc('<safe>\n<service mode="farm">\n<farm><lan name="default"><node name="node1"/></lan></farm>\n</service>\n</safe>'),
  HAKIT_E_CONF_FARM_NO_RULE: () => uc(farmXml('<vip><interface_list><interface><virtual_interface><virtual_addr addr="198.18.0.151"/></virtual_interface></interface></interface_list></vip>')),
  HAKIT_E_CONF_NO_HEARTBEAT: () => uc('<safe>\n<service mode="mirror" nodes="node1 node2"/>\n</safe>'),
  HAKIT_E_CONF_MODE_MISMATCH: () => uc(farmXml('<rfs><replicated dir="/srv/a"/></rfs>')),
  HAKIT_E_CONF_DIR_NESTED: () => uc(mirrorXml('<rfs>\n<replicated dir="/srv/a"/>\n<replicated dir="/srv/a/b"/>\n</rfs>')),
  HAKIT_E_CONF_DIR_SHARED: () => first(crossCheckModules('mine', okConfig(mirrorXml('<rfs><replicated dir="/srv/a/b"/></rfs>')), otherModule(mirrorXml('<rfs><replicated dir="/srv/a"/></rfs>')), 'userconfig.xml')),
  HAKIT_E_CONF_VIP_IPV6: () => uc(mirrorXml('<vip><interface_list><interface><real_interface><virtual_addr addr="2001:db8::10"/></real_interface></interface></interface_list></vip>')),
  HAKIT_E_CONF_VIP_SHARED: () => first(crossCheckModules('mine', okConfig(farmXml()), otherModule(farmXml()), 'userconfig.xml')),
  HAKIT_E_CONF_CLUSTER_NO_NODES: () => cl('<cluster name="c">\n<lan name="a"><node name="n1" addr="198.18.0.1"/><node name="n2" addr="198.18.0.2"/></lan>\n<lan name="b"><node name="n1" addr="198.18.1.1"/></lan>\n</cluster>'),
  HAKIT_E_CONF_CLUSTER_ROLES: () => cl('<cluster name="c">\n<lan name="a" command="off"><node name="n1" addr="198.18.0.1"/></lan>\n</cluster>'),
  HAKIT_E_CONF_NO_CLUSTER: (tmp) => caught(() => installModule(writeSafe(tmp, goodEntries()), undefined)),
  HAKIT_E_CLUSTER_KEY_EXISTS: (tmp) => {
    genKey(path.join(tmp, 'k'), false);
    return caught(() => genKey(path.join(tmp, 'k'), false));
  },
  HAKIT_E_CLUSTER_KEY_BAD: (tmp) => {
    fs.writeFileSync(path.join(tmp, 'k'), Buffer.alloc(32), { mode: 0o644 });
    return caught(() => readKey(path.join(tmp, 'k')));
  },
  HAKIT_E_CLUSTER_INSTALL: (tmp) => {
    fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
    fs.writeFileSync(path.join(tmp, 'file'), '');
    return caught(() => installCluster(path.join(tmp, 'cluster.xml'), { HAKIT_CONF_DIR: path.join(tmp, 'file', 'etc') }));
  },
  HAKIT_E_MOD_NAME: () => caught(() => checkModuleName('9lives')),
  HAKIT_E_MOD_NOT_INSTALLED: () => caught(() => uninstallModule('ghost')),
  HAKIT_E_MOD_RUNNING: () => caught(() => checkUninstallable('mod', 'ALONE')),
  HAKIT_E_MOD_NO_HISTORY: async (tmp) => {
    withCluster(tmp);
    await installModule(writeSafe(tmp, goodEntries()), undefined);
    return caught(() => rollbackModule('mod'));
  },
  HAKIT_E_MOD_NO_USERCONFIG: (tmp) => moduleIssue(moduleDirWith(tmp, { 'bin/start_prim': { data: SCRIPT, mode: 0o755 } })),
  HAKIT_E_MOD_LAYOUT: (tmp) => moduleIssue(moduleDirWith(tmp, { ...goodDir, README: { data: 'hi' } })),
  HAKIT_E_MOD_SCRIPT_MISSING: (tmp) => moduleIssue(moduleDirWith(tmp, { 'conf/userconfig.xml': { data: USERCONFIG_OK }, 'bin/start_prim': { data: SCRIPT, mode: 0o755 } })),
  HAKIT_E_MOD_SCRIPT_NOT_EXEC: (tmp) => moduleIssue(moduleDirWith(tmp, { ...goodDir, 'bin/stop_prim': { data: SCRIPT, mode: 0o644 } })),
  HAKIT_E_MOD_BUSY: async (tmp) => {
    withCluster(tmp);
    await installModule(writeSafe(tmp, goodEntries()), undefined);
    await installModule(writeSafe(tmp, goodEntries()), undefined);
    // A live holder that never lets go: pid 1 always runs.
    fs.writeFileSync(path.join(path.dirname(releasesDir('mod')), '.mod.lock'), '1 held');
    return caught(() => rollbackModule('mod', { ...process.env, HAKIT_STORE_LOCK_WAIT_MS: '50' }));
  },
  HAKIT_E_MOD_IO: (tmp) => caught(() => packModule(moduleDirWith(tmp, goodDir), path.join(tmp, 'missing', 'out.safe'))),
  HAKIT_E_SAFE_READ: (tmp) => caught(() => unpackSafe(path.join(tmp, 'none.safe'), tmp)),
  HAKIT_E_SAFE_NOT_ZIP: (tmp) => {
    fs.writeFileSync(path.join(tmp, 'x.safe'), 'this is not a zip file at all, just text');
    return caught(() => unpackSafe(path.join(tmp, 'x.safe'), tmp));
  },
  HAKIT_E_SAFE_DOTDOT: (tmp) => unpack(tmp, [...goodEntries(), { name: 'conf/../../evil' }]),
  HAKIT_E_SAFE_ABSOLUTE: (tmp) => unpack(tmp, [{ name: '/etc/evil' }]),
  HAKIT_E_SAFE_SYMLINK: (tmp) => unpack(tmp, [{ name: 'bin/link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]),
  HAKIT_E_SAFE_SPECIAL: (tmp) => unpack(tmp, [{ name: 'bin/dev', mode: 0o020644 }]),
  HAKIT_E_SAFE_DUPLICATE: (tmp) => unpack(tmp, [...goodEntries(), { name: 'bin/start_prim', data: SCRIPT, mode: 0o100755 }]),
  HAKIT_E_SAFE_ENTRY_TOO_BIG: (tmp) => unpack(tmp, [{ name: 'conf/huge', data: Buffer.alloc(10), declaredSize: 40 * 1024 * 1024, declaredCompressed: 40 * 1024 * 1024 }]),
  HAKIT_E_SAFE_TOO_MANY: (tmp) => unpack(tmp, Array.from({ length: 1001 }, (_, i) => ({ name: `conf/f${i}` }))),
  HAKIT_E_SAFE_TOTAL_TOO_BIG: (tmp) => unpack(tmp, Array.from({ length: 5 }, (_, i) => ({ name: `conf/f${i}`, data: Buffer.alloc(10), declaredSize: 30 * 1024 * 1024, declaredCompressed: 30 * 1024 * 1024 }))),
  HAKIT_E_SAFE_RATIO: (tmp) => unpack(tmp, [{ name: 'conf/zeros', data: Buffer.alloc(1024 * 1024), deflate: true }]),
  HAKIT_E_SAFE_NAME: (tmp) => unpack(tmp, [{ name: Buffer.from([0x63, 0x6f, 0x6e, 0x66, 0x2f, 0xff, 0xfe]) }]),
  HAKIT_E_SAFE_ENCRYPTED: (tmp) => unpack(tmp, [{ name: 'conf/secret', data: Buffer.from('x'), flags: 0x1, deflate: true }]),
};
