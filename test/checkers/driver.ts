// Runs inside a lab host, built: `node dist/test/checkers/driver.js probe|monitor JSON`. Prints one JSON
// line per result or event, so the test in the root namespace can follow it.
//   probe   {kind:'tcp'|'ping', addr, port?, timeout_ms}: one probe, then exit
//   monitor {xml, module}: a ModuleMonitor with a fake module that is PRIM and Ready and
//           answers every action, until stdin closes
import { okConfigText } from './config-text';
import { ModuleMonitor } from '../../core/checkers/host';
import { IcmpPinger } from '../../core/checkers/probes/ping';
import { tcpProbe } from '../../core/checkers/probes/tcp';
import { planMonitor } from '../../core/rules/pure/plan';
import type { LogSink } from '../../core/log/sink';

const out = (o: object): void => {
  process.stdout.write(JSON.stringify({ t_ms: Math.round(performance.now()), ...o }) + '\n');
};

async function probe(a: { kind: string; addr: string; port?: number; timeout_ms: number }): Promise<void> {
  if (a.kind === 'tcp') out(await tcpProbe(a.addr, a.port ?? 0, a.timeout_ms));
  else {
    const p = new IcmpPinger();
    p.acquire();
    out(await p.ping(a.addr, a.timeout_ms));
    p.release();
  }
}

function monitor(a: { xml: string; module: string; bin_dir?: string }): void {
  const cfg = okConfigText(a.xml);
  const plan = planMonitor(cfg, a.module);
  const log: LogSink = {
    error: (o, m) => out({ log: 'error', msg: m, ...o }),
    warn: (o, m) => out({ log: 'warn', msg: m, ...o }),
    info: (o, m) => out({ log: 'info', msg: m, ...o }),
    debug: () => undefined,
  };
  let view = { state: 'PRIM', status: 'Ready' as 'Ready' | 'Transient' | 'NotReady' };
  const mon: ModuleMonitor = new ModuleMonitor({
    module: a.module,
    plan,
    bin_dir: a.bin_dir ?? '/nonexistent',
    env: {},
    deliver: (e) => out({ deliver: e }),
    command: (c) => {
      out({ command: c.kind });
      // A fake module: scripts run for 50 ms, then it is settled again.
      view = { state: view.state, status: 'Transient' };
      mon.moduleChanged(view);
      setTimeout(() => {
        view = { state: c.kind === 'stop' ? 'STOP' : 'PRIM', status: c.kind === 'stop' ? 'NotReady' : 'Ready' };
        mon.moduleChanged(view);
      }, 50);
      return Promise.resolve();
    },
    moduleState: () => Promise.resolve(null),
    log,
  });
  mon.start(view);
  out({ ready: true });
  process.stdin.resume();
  process.stdin.on('end', () => {
    mon.dispose();
    process.exit(0);
  });
}

const [mode, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}') as never;
if (mode === 'probe') void probe(args).then(() => process.exit(0));
else monitor(args);
