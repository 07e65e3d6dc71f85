// Test copies of the example modules' userconfig.xml with process watching (<errd>) and
// checkers added: the shipped examples stay as they are; only the lab's VIP address, the
// nodes and the extra monitoring change. Timings are short so that the lab tests stay fast.
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cluster';

/** maxloop of the test copies: the 4th restart within LOOP_INTERVAL becomes a stop. */
export const MAXLOOP = 3;
export const LOOP_INTERVAL = "1h";
/** File on a node (per-node /run/hakit) whose presence makes the custom checker report down. */
export const CUSTOM_DOWN_FILE = '/run/hakit/app-sick';

/** bin/check_app: the custom checker (exit 0 = up). */
export const CHECK_APP = `#!/bin/sh
# Custom checker of the lab tests: down while ${CUSTOM_DOWN_FILE} exists.
[ ! -e ${CUSTOM_DOWN_FILE} ]
`;

function example(name: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, 'modules/examples', name, 'conf/userconfig.xml'), 'utf8');
}

function replaceOnce(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  if (out === text) throw new Error(`example userconfig changed: "${String(from)}" not found`);
  return out;
}

function withMacro(text: string, macro: string, value: string): string {
  return replaceOnce(text, new RegExp(`(<macro name="${macro}" value=")[^"]*(")`), `$1${value}$2`);
}

/**
 * mirror_http + errd (the app's node process, restart) + a custom checker whose failure makes
 * the module wait (rule `app_sick`); maxloop 3 (or `maxloop`) within 1 h.
 */
export function mirrorHttpConfig(vip: string, maxloop = MAXLOOP): string {
  let t = withMacro(example('mirror_http'), 'VIRTUAL_IP', vip);
  t = replaceOnce(t, /maxloop="\d+" loop_interval="\d+"/, `maxloop="${maxloop}" loop_interval="${LOOP_INTERVAL}"`);
  t = replaceOnce(
    t,
    '    <check>\n',
    `    <errd polltimer="2s">
      <proc name="node" argregex="mirror_http\\.js" atleast="1" action="restart" class="prim"/>
    </errd>
    <check>
      <custom ident="app" when="prim" action="restart" exec="check_app" interval="300ms" timeout="2s" fall="2"/>
`,
  );
  t = replaceOnce(t, '  </service>', `    <failover>\n      <rule name="app_sick" when="app" action="wait"/>\n    </failover>\n  </service>`);
  return t;
}

/**
 * farm_http on two nodes + errd (restart) + a ping of the witness host whose loss makes the
 * farm node wait (WAIT, buckets handed over) until it answers again; maxloop 3 within 1 h.
 */
export function farmHttpConfig(vip: string, pingTarget: string): string {
  let t = withMacro(example('farm_http'), 'VIRTUAL_IP', vip);
  t = replaceOnce(t, /\s*<node name="node3" power="1"\/>/, '');
  t = replaceOnce(t, /maxloop="\d+" loop_interval="\d+"/, `maxloop="${MAXLOOP}" loop_interval="${LOOP_INTERVAL}"`);
  t = replaceOnce(
    t,
    '    <check>\n',
    `    <errd polltimer="2s">
      <proc name="node" argregex="farm_http\\.js" atleast="1" action="restart" class="both"/>
    </errd>
    <check>
      <ping ident="router" when="both" action="wait">
        <to addr="${pingTarget}" interval="250ms" timeout="250ms" fall="2"/>
      </ping>
`,
  );
  return t;
}
