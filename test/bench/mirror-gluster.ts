// GlusterFS replica 2 over FUSE on two lab nodes, the peer a user would pick instead of the
// mirror, measured with the mirror benchmark's workloads (mirror-writer.ts) against node1's
// local disk in the same run (rounds alternating the order).
//   npm run bench -- mirror --only gluster
// Needs Debian's glusterfs-server and glusterfs-client. Lab nodes share /var/lib and /run, so
// each node's view gets private directories bind-mounted over /var/lib/glusterd,
// /var/log/glusterfs and /run/gluster, and its own glusterd.vol naming a private socket
// (else the second glusterd fails with "Address already in use").
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../lab';
import { distPath } from '../support/dist';
import type { Figure } from './figures';

const LAB = 'bg';
const ROOT = '/tmp/hakit-bench-gluster';
const SOCK = '/run/gluster/glusterd.socket';
const ROUNDS = 2;
const OPS = 400;
const FILES = 5000;
const STEP_TIMEOUT_MS = 120_000;

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

async function must(lab: Lab, host: string, script: string, timeout_ms = STEP_TIMEOUT_MS): Promise<string> {
  const r = await lab.exec(host, ['sh', '-c', script], { timeout_ms });
  if (r.code !== 0) throw new Error(`gluster bench on ${host}: ${script.slice(0, 200)}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function writer(lab: Lab, args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await must(lab, 'node1', [process.execPath, distPath('test/bench/mirror-writer.ts'), ...args].join(' '), 600_000)) as Record<string, unknown>;
}

function opsPerS(lat_us: readonly number[]): number {
  return lat_us.length / (lat_us.reduce((a, b) => a + b, 0) / 1e6);
}

export async function glusterBench(seq_mib: number): Promise<Figure[]> {
  if (!fs.existsSync('/usr/sbin/glusterd')) throw new Error('gluster bench: install glusterfs-server and glusterfs-client (Debian) first');
  await Lab.destroy(LAB);
  fs.rmSync(ROOT, { recursive: true, force: true });
  const lab = await Lab.up({ name: LAB, nodes: 2 });
  const g = (h: string): string => path.join(ROOT, h);
  const mnt = path.join(g('node1'), 'mnt');
  const local = path.join(g('node1'), 'local');
  const v: Record<string, number[]> = {};
  const put = (k: string, x: number): void => { (v[k] ??= []).push(x); };
  try {
    for (const h of ['node1', 'node2']) {
      const d = g(h);
      await must(lab, h, [
        `mkdir -p ${d}/lib ${d}/log ${d}/run ${d}/brick ${d}/mnt ${d}/local /var/lib/glusterd /var/log/glusterfs /run/gluster`,
        `mount --bind ${d}/lib /var/lib/glusterd && mount --bind ${d}/log /var/log/glusterfs && mount --bind ${d}/run /run/gluster`,
        `sed 's|^end-volume|    option glusterd-sockfile ${SOCK}\\nend-volume|' /etc/glusterfs/glusterd.vol > ${d}/glusterd.vol`,
        `glusterd -f ${d}/glusterd.vol -p /run/gluster/glusterd.pid`,
      ].join(' && '));
    }
    const a1 = lab.addr('node1');
    const a2 = lab.addr('node2');
    const cli = `gluster --mode=script --glusterd-sock=${SOCK}`;
    // glusterd needs a moment to listen; probe until the peer is connected.
    await must(lab, 'node1', `for i in $(seq 1 60); do ${cli} peer probe ${a2} >/dev/null 2>&1 && ${cli} peer status | grep -q 'Peer in Cluster (Connected)' && exit 0; sleep 0.5; done; exit 1`);
    await must(lab, 'node1', `${cli} volume create gv replica 2 ${a1}:${g('node1')}/brick ${a2}:${g('node2')}/brick force && ${cli} volume start gv`);
    await must(lab, 'node1', `for i in $(seq 1 40); do mount -t glusterfs ${a1}:/gv ${mnt} && exit 0; sleep 0.5; done; exit 1`);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [['local', local], ['gluster', mnt]] : [['gluster', mnt], ['local', local]];
      for (const [t, dir] of order) {
        put(`seq_${t}`, seq_mib / Number((await writer(lab, ['seq', dir!, String(seq_mib), 'durable'])).seconds));
        put(`fdsync_${t}`, opsPerS((await writer(lab, ['fdsync', dir!, '0', String(OPS), '20'])).lat_us as number[]));
        put(`dsync_${t}`, opsPerS((await writer(lab, ['dsync', dir!, '0', String(OPS), '20'])).lat_us as number[]));
        put(`files_${t}`, FILES / Number((await writer(lab, ['files', dir!, String(FILES)])).seconds));
      }
      process.stderr.write(`mirror bench gluster round ${r}: ${JSON.stringify(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Math.round(x[r]!)])))}\n`);
    }
  } finally {
    await lab.exec('node1', ['umount', '-l', mnt]).catch(() => undefined);
    // glusterd, its brick servers and the client all live in the nodes' namespaces: the
    // lab's power cut ends exactly those processes (by pid) and undoes their mounts.
    for (const h of ['node1', 'node2']) await lab.kill(h).catch(() => undefined);
    await lab.down();
    fs.rmSync(ROOT, { recursive: true, force: true });
  }
  const m = (k: string): number => +median(v[k] ?? []).toFixed(1);
  return [
    { figure: 'gluster_seq_durable_local_mib_s', value: m('seq_local'), unit: 'MiB/s', note: `lab node1, ${seq_mib} x 1 MiB + fdatasync` },
    { figure: 'gluster_seq_durable_mib_s', value: m('seq_gluster'), unit: 'MiB/s', note: 'GlusterFS replica 2 over FUSE, bricks on node1 and node2' },
    { figure: 'gluster_4k_fdatasync_ops_s', value: m('fdsync_gluster'), unit: 'ops/s', note: `local ${m('fdsync_local')}` },
    { figure: 'gluster_4k_dsync_ops_s', value: m('dsync_gluster'), unit: 'ops/s', note: `local ${m('dsync_local')}` },
    { figure: 'gluster_files_per_s', value: m('files_gluster'), unit: 'files/s', note: `${FILES} x (create, 4 KiB, close), fsync dir; local ${m('files_local')}` },
  ];
}
