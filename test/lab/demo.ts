// `npm run demo`: the default lab (2 nodes + client + witness, 2 LANs) turned into a running
// hakit cluster: cluster.xml and key on every node, the example modules packaged and
// installed, hakit-witness on the witness host, hakitd on each node, mirror_http PRIM on node1
// and SECOND on node2 (farm_http UP on both when it installs). Then it prints how to watch it,
// reach the application and cause a failure. Re-runnable: a default lab made by an earlier
// demo is taken down first; a default lab made by anyone else is left alone (refusal).
// The lab is packaged (docs/lab.md, "Packaged layout"): every host has the Debian package's
// /usr/lib/hakit (staged from this build, reused while up to date), commands are the
// package's `hakit`, and hakitd and hakit-witness start from the package's unit files.
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from './index';
import { requireRoot } from './make';
import { labDir } from './state-file';
import { provisionApi, startConsoleRelay } from '../api/lab/provision';
import { DEFAULT_API_PORT } from '../../core/api/contract/version';
import { addHeartbeat, addWitness, clusterXml, configureCluster, dropFarmNode, hakit, moduleState, mustHakit, packageAndInstall, ROOT, setMacro, startDaemon, startWitness, until, waitDaemon } from './demo/cluster-setup';

const DEMO = { nodes: 2, client: true, witness: true, lans: 2, packaged: true } as const;
const NODES = ['node1', 'node2'] as const;
/** Written into the lab's own directory, so it goes away with the lab. */
const MARKER = path.join(labDir('default'), 'made-by-demo');
const MIRROR = 'mirror_http';
const FARM = 'farm_http';
const MIRROR_PORT = 9080;
/** The example's replicated directory (its DATA_DIR macro). */
const MIRROR_DATA = '/srv/mirror_http/data';
const FARM_PORT = 9081;
const DAEMON_WAIT_MS = 30_000;
const STATE_WAIT_S = 60;

function log(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** A fresh default lab: an earlier demo's lab is replaced; anyone else's makes us refuse. */
async function freshLab(): Promise<Lab | undefined> {
  const existing = Lab.open();
  if (existing !== undefined) {
    if (!fs.existsSync(MARKER)) {
      log('A default lab is up and was not made by the demo: refusing to touch it.');
      log('Take it down yourself if you no longer need it:  npm run lab -- down');
      return undefined;
    }
    log('Taking down the default lab made by an earlier demo (its daemons die with it).');
    await Lab.destroy();
  }
  const t0 = Date.now();
  const lab = await Lab.up(DEMO);
  fs.writeFileSync(MARKER, `made by npm run demo at ${new Date().toISOString()}\n`);
  log(`Lab up in ${Date.now() - t0} ms (package tree ${lab.packagedRoot ?? 'none'}): ${lab.hosts.map((h) => `${h.name} (${lab.addr(h.name, 0)}, ${lab.addr(h.name, 1)})`).join(', ')}.`);
  return lab;
}

function mirrorVip(lab: Lab): string {
  return lab.spareAddr(0, 50);
}
function farmVip(lab: Lab): string {
  return lab.spareAddr(0, 51);
}

async function installModules(lab: Lab): Promise<{ farm: string | undefined }> {
  const examples = path.join(ROOT, 'modules', 'examples');
  const witness = lab.addr('witness', 0);
  await packageAndInstall(lab, NODES, path.join(examples, MIRROR), MIRROR, (xml) => addWitness(addHeartbeat(setMacro(xml, 'VIRTUAL_IP', mirrorVip(lab)), 'lan1'), witness));
  log(`Installed ${MIRROR} on ${NODES.join(' and ')} (VIP ${mirrorVip(lab)}, heartbeats on both LANs, witness ${witness}).`);
  try {
    await packageAndInstall(lab, NODES, path.join(examples, FARM), FARM, (xml) => dropFarmNode(setMacro(xml, 'VIRTUAL_IP', farmVip(lab)), 'node3'));
    log(`Installed ${FARM} on ${NODES.join(' and ')} (VIP ${farmVip(lab)}; node3 of the example dropped: the demo has 2 nodes).`);
    return { farm: undefined };
  } catch (e) {
    return { farm: e instanceof Error ? e.message : String(e) };
  }
}

/** The replicated directory must exist on both nodes before the first start (as with SafeKit). */
async function makeDataDirs(lab: Lab): Promise<void> {
  for (const n of NODES) {
    const r = await lab.exec(n, ['mkdir', '-p', MIRROR_DATA]);
    if (r.code !== 0) throw new Error(`${n}: mkdir ${MIRROR_DATA}: ${r.stderr}`);
  }
}

async function startCluster(lab: Lab): Promise<void> {
  await makeDataDirs(lab);
  await startWitness(lab);
  for (const n of NODES) await startDaemon(lab, n);
  for (const n of NODES) {
    if (!(await waitDaemon(lab, n, DAEMON_WAIT_MS))) throw new Error(`hakitd on ${n} does not answer after ${DAEMON_WAIT_MS} ms; see /var/lib/hakit-lab/default/${n}/log/hakitd.out`);
  }
  log(`hakit-witness runs on witness, hakitd on ${NODES.join(' and ')}, each started as its systemd unit does (the package's /usr/sbin wrappers on /usr/lib/hakit).`);
}

/** First start of a mirror module: both WAIT until `prim` on the node with the good data. */
async function startMirror(lab: Lab): Promise<void> {
  for (const n of NODES) await mustHakit(lab, n, ['start', '-m', MIRROR]);
  await mustHakit(lab, 'node1', ['prim', '-m', MIRROR]);
  await mustHakit(lab, 'node1', ['waitstate', '-m', MIRROR, 'ALONE,PRIM', '--timeout', String(STATE_WAIT_S)], (STATE_WAIT_S + 10) * 1000);
  await mustHakit(lab, 'node2', ['second', '-m', MIRROR]);
  await mustHakit(lab, 'node2', ['waitstate', '-m', MIRROR, 'SECOND', '--timeout', String(STATE_WAIT_S)], (STATE_WAIT_S + 10) * 1000);
  await mustHakit(lab, 'node1', ['waitstate', '-m', MIRROR, 'PRIM', '--timeout', String(STATE_WAIT_S)], (STATE_WAIT_S + 10) * 1000);
  log(`${MIRROR}: PRIM on node1, SECOND on node2.`);
}

async function startFarm(lab: Lab): Promise<string | undefined> {
  for (const n of NODES) {
    const r = await hakit(lab, n, ['start', '-m', FARM]);
    if (r.code !== 0) return `start on ${n}: ${r.out}`;
  }
  for (const n of NODES) {
    const r = await hakit(lab, n, ['waitstate', '-m', FARM, 'UP', '--timeout', String(STATE_WAIT_S)], (STATE_WAIT_S + 10) * 1000);
    if (r.code !== 0) return `not UP on ${n}: ${r.out}`;
  }
  log(`${FARM}: UP on node1 and node2.`);
  return undefined;
}

/** GET from the client; `empty` says what an empty body means for that application. */
async function clientGet(lab: Lab, url: string, empty = '(empty answer)'): Promise<string> {
  const r = await lab.exec('client', ['curl', '-s', '-m', '2', url], { timeout_ms: 5000 });
  return r.code === 0 ? r.stdout.trim() || empty : `no answer (curl exit ${r.code})`;
}

async function printStates(lab: Lab): Promise<void> {
  log('\nhakit state on each node:');
  for (const n of NODES) {
    const r = await hakit(lab, n, ['state']);
    log(`--- ${n}\n${r.out}`);
  }
}

function printGuide(lab: Lab, farmProblem: string | undefined): void {
  const mv = mirrorVip(lab);
  const fv = farmVip(lab);
  log(`
How to use it (each node runs the package's files; \`hakit\` is the package's command)
  Run hakit on a node:        npm run lab -- exec node1 -- hakit state
                              npm run lab -- exec node2 -- hakit state -m ${MIRROR} -v
  Logs of a node:             /var/lib/hakit-lab/default/node1/log/   (the node sees it as /var/log/hakit)
  The application via its VIP, from the client:
    npm run lab -- exec client -- curl -s -d 'hello' http://${mv}:${MIRROR_PORT}/    (store a record)
    npm run lab -- exec client -- curl -s http://${mv}:${MIRROR_PORT}/               (read the records)
${farmProblem === undefined ? `    npm run lab -- exec client -- curl -s http://${fv}:${FARM_PORT}/               (farm: the serving node's name)\n` : ''}
Cause a failure
  Power cut of the primary:   npm run lab -- kill node1      (links dead, every process killed)
  Watch the failover:         npm run lab -- exec node2 -- hakit state
  Boot it again:              npm run lab -- poweron node1
                              npm run lab -- start node1 hakitd          (as systemd starts it at boot)
                              npm run lab -- exec node1 -- hakit start -m ${MIRROR}   (it comes back SECOND)
  Cut the LANs between the nodes (the witness decides who serves):
                              npm run lab -- cut node1 node2 ; npm run lab -- heal
  Swap the roles:             npm run lab -- exec node1 -- hakit swap -m ${MIRROR}

Web console and API: the line "Console:" below (from the host; the CA is /etc/hakit/tls/ca.crt on each node).
Tear down (kills every daemon and the console relay, removes the lab):  npm run lab -- down`);
}

export async function demo(): Promise<number> {
  requireRoot();
  const lab = await freshLab();
  if (lab === undefined) return 1;
  const xml = clusterXml(lab, 'demo', NODES, [
    { name: 'default', lan: 0 },
    { name: 'lan1', lan: 1 },
  ]);
  await configureCluster(lab, NODES, xml, [...NODES, 'witness']);
  const api = await provisionApi(lab, NODES, [0, 1], 'demo');
  log('cluster.xml (LANs default and lan1) and the cluster key are on every node; the key is on the witness too.');
  const { farm } = await installModules(lab);
  await startCluster(lab);
  await startMirror(lab);
  const farmProblem = farm ?? (await startFarm(lab));
  if (farmProblem !== undefined) log(`${FARM} is not running in the demo: ${farmProblem}`);
  await until(async () => !(await clientGet(lab, `http://${mirrorVip(lab)}:${MIRROR_PORT}/`)).startsWith('no answer'), 10_000);
  await printStates(lab);
  log(`\nFrom the client: GET http://${mirrorVip(lab)}:${MIRROR_PORT}/ -> ${await clientGet(lab, `http://${mirrorVip(lab)}:${MIRROR_PORT}/`, '(answered, empty: no record stored yet)')}`);
  if (farmProblem === undefined) await until(async () => !(await clientGet(lab, `http://${farmVip(lab)}:${FARM_PORT}/`)).startsWith('no answer'), 10_000);
  if (farmProblem === undefined) log(`From the client: GET http://${farmVip(lab)}:${FARM_PORT}/ -> ${await clientGet(lab, `http://${farmVip(lab)}:${FARM_PORT}/`)}`);
  const states = await Promise.all(NODES.map((n) => moduleState(lab, n, MIRROR)));
  printGuide(lab, farmProblem);
  const consoleUrl = await startConsoleRelay(lab, 'node1', DEFAULT_API_PORT, api.ca);
  log(`Console: ${consoleUrl}  user ${api.user} password ${api.password}`);
  return states[0]?.state === 'PRIM' && states[1]?.state === 'SECOND' ? 0 : 1;
}

if (require.main === module) {
  demo().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
      console.error('The lab stays up for inspection; remove it with: npm run lab -- down');
      process.exit(1);
    },
  );
}
