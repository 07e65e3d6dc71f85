// A typed userconfig from XML text, for checker tests (throws on config errors).
import { parseUserConfigText } from '../../core/config/load';

export function okConfigText(xml: string) {
  const r = parseUserConfigText(xml);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.code}: ${e.where}: ${e.message}`).join('\n'));
  return r.value;
}

export function mirrorWith(inner: string): string {
  return `<safe><service mode="mirror" nodes="node1 node2"><heart><heartbeat name="default"/></heart>${inner}</service></safe>`;
}
