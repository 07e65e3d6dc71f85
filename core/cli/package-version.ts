import fs from 'node:fs';
import path from 'node:path';

/** The version in the project's package.json, found by walking up from this file. */
export function readPackageVersion(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const parsed: unknown = JSON.parse(fs.readFileSync(candidate, 'utf8'));
      if (parsed && typeof parsed === 'object' && 'name' in parsed && parsed.name === 'hakit' && 'version' in parsed) {
        return String(parsed.version);
      }
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
