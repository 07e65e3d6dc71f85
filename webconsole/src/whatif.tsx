// What-if: pick nodes that fail, LANs that are cut, applications or checkers that fail (each
// fault possibly later than the first, for sequences), and see what the cluster would do,
// predicted by the daemon's own state machines, checkers and failover rules run from the
// current state (GET /whatif): each module's end state per node, the failover rules applied,
// warnings, VIP and bucket moves, the timeline.
import { useEffect, useState } from 'preact/hooks';
import type { WhatIfAnswer, WhatIfChoices, WhatIfFaultInfo, WhatIfModuleChoice, WhatIfModuleOutcome, WhatIfRuleOutcome } from '../../core/api/contract/pure/insight-types';
import { afterFault } from '../pure/insight';
import { api, enc } from './api';
import { BucketGrid } from './bucket-map';

function toggle(list: readonly string[], v: string, on: boolean): string[] {
  return on ? [...new Set([...list, v])] : list.filter((x) => x !== v);
}

function stateIcon(s: string): string {
  if (s === 'DOWN') return '✖';
  if (s.startsWith('PRIM/Ready') || s.startsWith('SECOND/Ready') || s.startsWith('UP/Ready')) return '✔';
  if (s.startsWith('ALONE/')) return '◐';
  if (s.endsWith('/Transient')) return '⟳';
  return '✖';
}

function Checks(props: { legend: string; name: string; options: readonly { value: string; label: string }[]; chosen: readonly string[]; onChange: (v: string[]) => void }) {
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.options.length === 0 && <span class="note">none</span>}
      {props.options.map((o) => (
        <label key={o.value} class="check">
          <input type="checkbox" name={props.name} value={o.value} checked={props.chosen.includes(o.value)} onChange={(e) => props.onChange(toggle(props.chosen, o.value, (e.currentTarget as HTMLInputElement).checked))} /> {o.label}
        </label>
      ))}
    </fieldset>
  );
}

/** One added fault: what fails (`app:M`, `chk:M/RES`, `node:`), where, and how long after the start. */
interface Added {
  readonly what: string;
  readonly node: string;
  readonly after_s: number;
}

function whatLabel(what: string): string {
  if (what.startsWith('app:')) return `${what.slice(4)}: the application fails`;
  if (what.startsWith('chk:')) {
    const [m, r] = what.slice(4).split('/') as [string, string];
    return `${m}: checker ${r} fails`;
  }
  return 'power cut';
}

function addedLabel(a: Added): string {
  return `${whatLabel(a.what)} on ${a.node}${a.after_s > 0 ? `, ${a.after_s} s after the start` : ''}`;
}

/** The query parameters of the added faults (`+MS` for a later one). */
function addedQuery(added: readonly Added[]): { app: string[]; chk: string[]; node: string[] } {
  const delay = (a: Added): string => (a.after_s > 0 ? `+${Math.round(a.after_s * 1000)}` : '');
  return {
    app: added.filter((a) => a.what.startsWith('app:')).map((a) => `${a.what.slice(4)}@${a.node}${delay(a)}`),
    chk: added.filter((a) => a.what.startsWith('chk:')).map((a) => `${a.what.slice(4)}@${a.node}${delay(a)}`),
    node: added.filter((a) => a.what === 'node:').map((a) => `${a.node}${delay(a)}`),
  };
}

function FaultPicker(props: { choices: WhatIfChoices; added: readonly Added[]; onChange: (a: Added[]) => void }) {
  const modules = props.choices.modules ?? [];
  const [what, setWhat] = useState(modules[0] ? `app:${modules[0].module}` : 'node:');
  const moduleOf = (w: string): WhatIfModuleChoice | undefined => modules.find((m) => w.startsWith(`app:${m.module}`) || w.startsWith(`chk:${m.module}/`));
  const nodes = moduleOf(what)?.nodes ?? props.choices.nodes;
  const [node, setNode] = useState(nodes[0] ?? '');
  const [after_s, setAfter] = useState('0');
  const nodeOk = nodes.includes(node) ? node : (nodes[0] ?? '');
  const add = (): void => {
    const s = Number(after_s);
    const a: Added = { what, node: nodeOk, after_s: Number.isFinite(s) && s >= 0 && s <= 600 ? s : 0 };
    if (nodeOk === '' || props.added.some((x) => x.what === a.what && x.node === a.node)) return;
    props.onChange([...props.added, a]);
  };
  return (
    <fieldset class="whatif-faults">
      <legend>Applications, checkers and later faults</legend>
      <label class="check">
        What fails{' '}
        <select name="fault-what" value={what} onChange={(e) => setWhat((e.currentTarget as HTMLSelectElement).value)}>
          {modules.map((m) => (
            <optgroup key={m.module} label={`${m.module} (${m.mode})`}>
              <option value={`app:${m.module}`}>{`${m.module}: the application fails${m.app_checkers.length === 0 ? ' (no checker watches it)' : ''}`}</option>
              {m.checkers.map((c) => (
                <option key={c.resource} value={`chk:${m.module}/${c.resource}`}>{`${m.module}: checker ${c.resource} fails (${c.action}${c.rule ? `, rule ${c.rule}` : ''})`}</option>
              ))}
            </optgroup>
          ))}
          <option value="node:">a node: power cut</option>
        </select>
      </label>
      <label class="check">
        On node{' '}
        <select name="fault-node" value={nodeOk} onChange={(e) => setNode((e.currentTarget as HTMLSelectElement).value)}>
          {nodes.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label class="check">
        After (s){' '}
        <input type="number" name="fault-after" min="0" max="600" step="1" value={after_s} onInput={(e) => setAfter((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <button type="button" onClick={add}>
        Add fault
      </button>
      {props.added.length > 0 && (
        <ul class="whatif-added" aria-label="Faults added">
          {props.added.map((a, i) => (
            <li key={`${a.what}@${a.node}`}>
              {addedLabel(a)}{' '}
              <button type="button" aria-label={`Remove: ${addedLabel(a)}`} onClick={() => props.onChange(props.added.filter((_, j) => j !== i))}>
                ✖ Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

export function WhatIf() {
  const [choices, setChoices] = useState<WhatIfChoices | null>(null);
  const [fail, setFail] = useState<string[]>([]);
  const [cut, setCut] = useState<string[]>([]);
  const [witnessCut, setWitnessCut] = useState<string[]>([]);
  const [added, setAdded] = useState<Added[]>([]);
  const [heal, setHeal] = useState(false);
  const [script_s, setScriptS] = useState('1');
  const [answer, setAnswer] = useState<WhatIfAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<WhatIfChoices>('GET', '/whatif/choices').then(setChoices, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  const ask = (e: Event): void => {
    e.preventDefault();
    const more = addedQuery(added);
    const q = [`fail=${enc([...fail, ...more.node].join(','))}`, `cut=${enc(cut.join(','))}`, `witness_cut=${enc(witnessCut.join(','))}`];
    if (more.app.length > 0) q.push(`app_fail=${enc(more.app.join(','))}`);
    if (more.chk.length > 0) q.push(`checker_fail=${enc(more.chk.join(','))}`);
    if (heal) q.push('heal=restart');
    const s = Number(script_s);
    if (Number.isFinite(s) && s >= 0 && s <= 600) q.push(`script_ms=${Math.round(s * 1000)}`);
    setBusy(true);
    setError(null);
    api<WhatIfAnswer>('GET', `/whatif?${q.join('&')}`).then(
      (a) => {
        setAnswer(a);
        setBusy(false);
      },
      (err: unknown) => {
        setError(err instanceof Error ? err.message : String(err));
        setBusy(false);
      },
    );
  };

  return (
    <section id="whatif" aria-labelledby="whatif-title">
      <h2 id="whatif-title">What-if</h2>
      <p class="note">Predicts what the cluster would do, by running hakit's own state machines, checkers and failover rules from the current state. Nothing changes on the nodes.</p>
      {choices && !choices.available && <p class="note">What-if is not available here: {choices.reason}.</p>}
      {choices?.available && (
        <form class="whatif-form" onSubmit={ask}>
          <Checks legend="Nodes that fail (power cut)" name="fail" options={choices.nodes.map((n) => ({ value: n, label: n }))} chosen={fail} onChange={setFail} />
          <Checks legend="LANs that are cut" name="cut" options={choices.lans.map((l) => ({ value: l.name, label: l.name }))} chosen={cut} onChange={setCut} />
          {choices.witness && <Checks legend="Nodes that also lose the witness" name="witness_cut" options={choices.nodes.map((n) => ({ value: n, label: n }))} chosen={witnessCut} onChange={setWitnessCut} />}
          <FaultPicker choices={choices} added={added} onChange={setAdded} />
          <label class="check">
            <input type="checkbox" name="heal" checked={heal} onChange={(e) => setHeal((e.currentTarget as HTMLInputElement).checked)} /> An application or checker fault ends with the first restart
          </label>
          <label class="check">
            Each script takes (s){' '}
            <input type="number" min="0" max="600" step="0.1" value={script_s} onInput={(e) => setScriptS((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={busy || (fail.length === 0 && cut.length === 0 && added.length === 0)}>
            {busy ? 'Predicting…' : 'Predict'}
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          ✖ {error}
        </p>
      )}
      {answer && <Prediction a={answer} />}
    </section>
  );
}

function faultText(f: WhatIfFaultInfo, lanName: (i: number) => string): string {
  switch (f.kind) {
    case 'node':
      return `${f.node} fails`;
    case 'lan':
      return `LAN ${lanName(f.lan ?? -1)} is cut`;
    case 'witness':
      return `${f.node} loses the witness`;
    case 'app':
      return `${f.module}'s application fails on ${f.node}`;
    case 'checker':
      return `checker ${f.resource} of ${f.module} fails on ${f.node}`;
  }
}

function Prediction(props: { a: WhatIfAnswer }) {
  const a = props.a;
  const lanName = (i: number): string => a.lans.find((l) => l.index === i)?.name ?? `#${i}`;
  const faults = a.scenario.faults ?? [];
  const what =
    faults.length > 0
      ? faults.map((f) => `${f.at_ms > 0 ? `at ${afterFault(f.at_ms)} ` : ''}${faultText(f, lanName)}`).join(', then ')
      : [...a.scenario.fail_nodes.map((n) => `${n} fails`), ...a.scenario.cut_lans.map((l) => `LAN ${lanName(l)} is cut`), ...a.scenario.witness_cut_from.map((n) => `${n} loses the witness`)].join(', ');
  const warnings = [...a.warnings, ...a.modules.flatMap((m) => m.warnings)];
  return (
    <div class="prediction" aria-live="polite">
      <h3>If {what}</h3>
      {warnings.length > 0 ? (
        <ul class="warnings" aria-label="Warnings">
          {warnings.map((w, i) => (
            <li key={i} class="banner warn" data-kind={w.kind}>
              ⚠ {w.message}
            </li>
          ))}
        </ul>
      ) : (
        <p class="ok">✔ No warning: every module is served again without data loss.</p>
      )}
      {a.modules.map((m) => (
        <ModulePrediction key={m.module} m={m} />
      ))}
      <h4>Timeline after the start</h4>
      {/* The list scrolls (ol.timeline has a max height): focusable, so a keyboard can scroll it. */}
      <ol class="timeline whatif-timeline" tabIndex={0} aria-label="Timeline after the start">
        {a.timeline.map((t, i) => (
          <li key={i} class={`tl-${t.kind}`}>
            <time>{afterFault(t.at_ms)}</time> {t.module ? `${t.module} · ` : ''}
            {t.text}
          </li>
        ))}
      </ol>
      <details>
        <summary>Assumptions</summary>
        <ul>
          {a.assumptions.map((x, i) => (
            <li key={i}>{x}</li>
          ))}
        </ul>
        <p class="note">
          Computed by {a.answered_by} in {a.computed_ms} ms, simulating up to {a.scenario.horizon_ms / 1000} s after the last fault.
        </p>
      </details>
    </div>
  );
}

function taken(r: WhatIfRuleOutcome): string {
  if (r.taken.length === 0) return 'nothing';
  return r.taken.map((t) => `${t.action} at ${afterFault(t.at_ms)}`).join(', ');
}

function RulesTable(props: { m: WhatIfModuleOutcome }) {
  const rules = props.m.rules ?? [];
  if (rules.length === 0) return null;
  return (
    <table class="plain whatif-rules">
      <caption>{props.m.module}: failover rules that apply</caption>
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col">Checker</th>
          <th scope="col">Rule and action</th>
          <th scope="col">What it does</th>
          <th scope="col">Seen down</th>
          <th scope="col">Actions taken</th>
        </tr>
      </thead>
      <tbody>
        {rules.map((r) => (
          <tr key={`${r.node}/${r.resource}`} data-node={r.node} data-resource={r.resource}>
            <th scope="row">{r.node}</th>
            <td>{r.resource}</td>
            <td>
              {r.rule ? `rule ${r.rule}: ` : 'checker default: '}
              <strong>{r.action}</strong>
            </td>
            <td>{r.explains}</td>
            <td>{r.down_at_ms === null ? '✖ not seen down (its checker does not run there, or another checker acted first)' : afterFault(r.down_at_ms)}</td>
            <td class="taken">{taken(r)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ModulePrediction(props: { m: WhatIfModuleOutcome }) {
  const m = props.m;
  return (
    <div class="whatif-module">
      <table class="plain">
        <caption>
          {m.module} ({m.mode}){m.settled_ms !== null ? ` — settles ${afterFault(m.settled_ms)} after the start` : ' — nothing changes'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Now</th>
            <th scope="col">Predicted end state</th>
          </tr>
        </thead>
        <tbody>
          {m.nodes.map((n) => (
            <tr key={n.node} data-node={n.node}>
              <th scope="row">
                {n.node}
                {n.failed ? ' (fails)' : ''}
              </th>
              <td>
                {stateIcon(n.before)} {n.before}
              </td>
              <td class="predicted">
                {stateIcon(n.after)} {n.after}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <RulesTable m={m} />
      {m.mode === 'mirror' && (
        <p>
          VIP: {m.vip_before.join(', ') || 'nowhere'} → <strong>{m.vip_after.join(', ') || 'nowhere'}</strong>
        </p>
      )}
      {m.farm && (
        <div>
          <p>
            Buckets moved:{' '}
            {m.farm.moves.length === 0
              ? 'none'
              : m.farm.moves.map((x) => `${x.count} from ${x.from || 'nobody'} to ${x.to || 'nobody'}`).join('; ')}
            {m.farm.moved_at_ms !== null && ` (by ${afterFault(m.farm.moved_at_ms)})`}
          </p>
          <details>
            <summary>Bucket maps before and after</summary>
            <BucketGrid owners={m.farm.before} label={`${m.module} before`} known={m.nodes.map((n) => n.node)} />
            <BucketGrid owners={m.farm.after} label={`${m.module} after`} known={m.nodes.map((n) => n.node)} />
          </details>
        </div>
      )}
    </div>
  );
}
