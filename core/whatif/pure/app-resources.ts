// Which checkers an application failure makes fail: its processes (errd) and the checkers
// that talk to it (tcp, custom). Routers, links, addresses, other modules and the witness stay up.
import type { ResourceClass } from '../../rules/pure/types';
import type { WhatIfModuleNow } from './types';

const APP_CLASSES: ReadonlySet<ResourceClass> = new Set(['errd', 'tcp', 'custom']);

export function appResources(m: WhatIfModuleNow): string[] {
  return (m.monitor?.rules.resources ?? []).filter((r) => APP_CLASSES.has(r.class)).map((r) => r.name);
}
