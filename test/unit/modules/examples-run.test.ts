// The example modules' scripts and apps, run for real: start script, real HTTP/UDP clients,
// stop script. Each run is inside an anonymous network namespace (`unshare -n`, gone when
// the process exits), so the apps' ports never meet the host or other tests.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const examples = path.resolve(__dirname, '../../../modules/examples');
const RUN_TIMEOUT_MS = 20_000;
let tmp = '';
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-cfg-run-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function inNetns(script: string, env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['-n', 'bash', '-c', `set -e; ip link set lo up; ${script}`], {
    env: { ...process.env, HAKIT_NODE_BIN: process.execPath, HAKIT_RUN_DIR: path.join(tmp, 'run'), ...env },
    timeout: RUN_TIMEOUT_MS,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Polls (bounded) until the app answers, then runs the client commands.
const waitFor = (cmd: string) => `for i in $(seq 1 100); do ${cmd} >/dev/null 2>&1 && break; sleep 0.05; done;`;

test('mirror_http: POST appends a record in the data dir, GET returns the records, stop_prim stops it', () => {
  const bin = path.join(examples, 'mirror_http', 'bin');
  const data = path.join(tmp, 'data');
  const r = inNetns(
    `trap '${bin}/stop_prim -force' EXIT; ${bin}/start_prim; ${waitFor('curl -sf http://127.0.0.1:9080/')}
     curl -sf -X POST --data 'first' http://127.0.0.1:9080/; curl -sf -X POST --data 'second' http://127.0.0.1:9080/;
     curl -sf http://127.0.0.1:9080/; ${bin}/stop_prim; ! curl -sf http://127.0.0.1:9080/`,
    { HAKIT_MODULE: 'mirror_http', MIRROR_HTTP_PORT: '9080', MIRROR_HTTP_DATA: data },
  );
  expect(r.stderr).toBe('');
  expect(r.stdout).toContain('ok\nok\nfirst\nsecond\n');
  expect(fs.readFileSync(path.join(data, 'records.log'), 'utf8')).toBe('first\nsecond\n');
  expect(fs.existsSync(path.join(tmp, 'run', 'mirror_http', 'mirror_http.pid'))).toBe(false);
  expect(r.code).toBe(0);
});

test('farm_http: answers HTTP and UDP with its node name', () => {
  const bin = path.join(examples, 'farm_http', 'bin');
  const r = inNetns(
    `trap '${bin}/stop_both -force' EXIT; ${bin}/start_both; ${waitFor('curl -sf http://127.0.0.1:9081/')}
     curl -sf http://127.0.0.1:9081/;
     ${process.execPath} -e "const s=require('dgram').createSocket('udp4');s.on('message',(m)=>{process.stdout.write('udp '+m);s.close()});s.send('hi',9082,'127.0.0.1');setTimeout(()=>process.exit(3),3000).unref()";
     ${bin}/stop_both`,
    { HAKIT_MODULE: 'farm_http', HAKIT_NODE: 'node7' },
  );
  expect(r.stdout).toContain('node7\nudp node7\n');
  expect(r.code).toBe(0);
});
