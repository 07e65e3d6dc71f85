// What a what-if question may name about modules: per module hosted by the answering node, its
// nodes, the checkers an application failure makes fail, and every checker with its rule.
import { appResources } from './app-resources';
import type { WhatIfCluster } from './types';

export interface ModuleChoice {
  readonly module: string;
  readonly mode: 'mirror' | 'farm' | 'light';
  readonly nodes: readonly string[];
  readonly app_checkers: readonly string[];
  readonly checkers: readonly { readonly resource: string; readonly class: string; readonly role: string; readonly action: string; readonly rule: string | null }[];
}

export function moduleChoices(c: WhatIfCluster): ModuleChoice[] {
  return c.modules.map((m) => ({
    module: m.policy.module,
    mode: m.policy.mode,
    nodes: [...m.policy.nodes],
    app_checkers: appResources(m),
    checkers: (m.monitor?.rules.resources ?? []).map((r) => ({ resource: r.name, class: r.class, role: r.role, action: r.action, rule: r.rule })),
  }));
}
