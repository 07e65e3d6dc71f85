import path from 'node:path';

export const DEFAULT_RUN_DIR = '/run/hakit';
export const CONTROL_SOCKET_NAME = 'hakitd.sock';

export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['HAKIT_RUN_DIR'] || DEFAULT_RUN_DIR;
}

export function controlSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(runDir(env), CONTROL_SOCKET_NAME);
}
