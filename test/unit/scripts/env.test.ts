import { inheritedEnv, scriptEnv } from '../../../core/scripts/env';

test('scripts inherit only the allowlist, the locale and HAKIT_* settings of the daemon', () => {
  const env = inheritedEnv({ PATH: '/bin', LC_ALL: 'C', HAKIT_RUN_DIR: '/run/x', SSH_AUTH_SOCK: '/tmp/agent', NOTIFY_SOCKET: '/run/n', CREDENTIALS_DIRECTORY: '/c' });
  expect(env).toEqual({ PATH: '/bin', HOME: '/root', LC_ALL: 'C', HAKIT_RUN_DIR: '/run/x' });
});

test('a missing PATH gets the standard one', () => {
  expect(inheritedEnv({}).PATH).toMatch(/\/usr\/bin/);
});

test('user variables never override HAKIT_* variables', () => {
  const env = scriptEnv({ module: 'm', node: 'n1', from_state: 'WAIT', to_state: 'PRIM', action: 'prim', user_vars: { HAKIT_NODE: 'evil', APP_PORT: '80' } });
  expect(env.HAKIT_NODE).toBe('n1');
  expect(env.APP_PORT).toBe('80');
});
