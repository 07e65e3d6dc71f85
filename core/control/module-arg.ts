// The one check of a `-m MODULE` value on the CLI side, before anything is asked of hakitd or
// read from disk: every command answers a bad name with the same code and exit code
// (HAKIT_E_MOD_NAME, exit 1, as `module install` does), and an empty name is a bad name,
// never "all modules".
import { HakitError } from '../errors/catalogue';
import { MODULE_NAME_PATTERN } from '../../modules/safe/limits';
import { moduleNameMessage } from '../config/pure/module-name';

export function moduleArg(name: string): string {
  if (!MODULE_NAME_PATTERN.test(name)) {
    throw new HakitError('HAKIT_E_MOD_NAME', moduleNameMessage(name), '-m');
  }
  return name;
}

/** Same, for an optional -m (undefined: every module). */
export function optionalModuleArg(name: string | undefined): string | undefined {
  return name === undefined ? undefined : moduleArg(name);
}
