// The control socket lives in the run dir, which core/config/paths.ts owns (HAKIT_RUN_DIR).
import path from 'node:path';
import { runDir } from '../config/paths';

export const CONTROL_SOCKET_NAME = 'hakitd.sock';

export function controlSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(runDir(env), CONTROL_SOCKET_NAME);
}
