// A pushed module's name is checked when the request is parsed, before the config service
// writes NAME.safe into its temp dir (review finding: "../x/victim" wrote outside it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isHakitError } from '../../../core/errors/catalogue';
import { parseMemberRequest } from '../../../core/cluster/requests';
import { ConfigService } from '../../../core/cluster/config-service';
import { CLUSTER_IDENTITY } from '../../../core/cluster/psk-channel';
import { SILENT_LOG } from '../../../core/log/sink';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return isHakitError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return undefined;
};

test.each(['../x/victim', '/etc/passwd', 'a/b', '.hidden', 'web-1', '1web', 'x'.repeat(33)])('install-module refuses the name %j with HAKIT_E_MOD_NAME', (name) => {
  expect(codeOf(() => parseMemberRequest({ op: 'install-module', name, safe_b64: 'AAAA' }))).toBe('HAKIT_E_MOD_NAME');
});

test('install-module accepts a valid name', () => {
  expect(parseMemberRequest({ op: 'install-module', name: 'web_1', safe_b64: 'AAAA' })).toEqual({ op: 'install-module', name: 'web_1', safe_b64: 'AAAA' });
});

describe('the config service', () => {
  let tmp = '';
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-push-name-'));
    fs.mkdirSync(path.join(tmp, 't', 'x'), { recursive: true });
    // The service's temp dirs are made inside `tmp/t` (jest gives the test its own copy of
    // process.env, so TMPDIR would not reach node's os module: stub os.tmpdir instead).
    jest.spyOn(os, 'tmpdir').mockReturnValue(path.join(tmp, 't'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes nothing for a pushed module named "../x/victim"', async () => {
    const svc = new ConfigService({
      node: 'n1',
      conf_dir: path.join(tmp, 'etc'),
      state_dir: path.join(tmp, 'state'),
      cluster: () => {
        throw new Error('not needed');
      },
      key: Buffer.alloc(32),
      log: SILENT_LOG,
      reload: () => Promise.reject(new Error('not needed')),
    });
    // handle() is what the PSK channel calls with an authenticated member's request.
    const handle = (svc as unknown as { handle(identity: string, raw: unknown, peer: string): Promise<unknown> }).handle.bind(svc);
    const err = await handle(CLUSTER_IDENTITY, { op: 'install-module', name: '../x/victim', safe_b64: Buffer.from('PK').toString('base64') }, 'peer').catch((e: unknown) => e);
    expect(isHakitError(err) ? err.code : err).toBe('HAKIT_E_MOD_NAME');
    expect(fs.existsSync(path.join(tmp, 't', 'x', 'victim.safe'))).toBe(false);
    expect(fs.readdirSync(path.join(tmp, 't'))).toEqual(['x']); // no temp dir left either
    await svc.close();
  });
});
