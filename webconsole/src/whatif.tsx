// What-if: pick nodes that fail and/or LANs that are cut, and see what the cluster would do,
// predicted by the daemon's own state machines run from the current state (GET /whatif):
// each module's end state per node, warnings, VIP and bucket moves, the timeline.
import { useEffect, useState } from 'preact/hooks';
import type { WhatIfAnswer, WhatIfChoices, WhatIfModuleOutcome } from '../../core/api/contract/pure/insight-types';
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

export function WhatIf() {
  const [choices, setChoices] = useState<WhatIfChoices | null>(null);
  const [fail, setFail] = useState<string[]>([]);
  const [cut, setCut] = useState<string[]>([]);
  const [witnessCut, setWitnessCut] = useState<string[]>([]);
  const [script_s, setScriptS] = useState('1');
  const [answer, setAnswer] = useState<WhatIfAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<WhatIfChoices>('GET', '/whatif/choices').then(setChoices, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);

  const ask = (e: Event): void => {
    e.preventDefault();
    const q = [`fail=${enc(fail.join(','))}`, `cut=${enc(cut.join(','))}`, `witness_cut=${enc(witnessCut.join(','))}`];
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
      <p class="note">Predicts what the cluster would do, by running hakit's own state machines from the current state. Nothing changes on the nodes.</p>
      {choices && !choices.available && <p class="note">What-if is not available here: {choices.reason}.</p>}
      {choices?.available && (
        <form class="whatif-form" onSubmit={ask}>
          <Checks legend="Nodes that fail (power cut)" name="fail" options={choices.nodes.map((n) => ({ value: n, label: n }))} chosen={fail} onChange={setFail} />
          <Checks legend="LANs that are cut" name="cut" options={choices.lans.map((l) => ({ value: l.name, label: l.name }))} chosen={cut} onChange={setCut} />
          {choices.witness && <Checks legend="Nodes that also lose the witness" name="witness_cut" options={choices.nodes.map((n) => ({ value: n, label: n }))} chosen={witnessCut} onChange={setWitnessCut} />}
          <label class="check">
            Each script takes (s){' '}
            <input type="number" min="0" max="600" step="0.1" value={script_s} onInput={(e) => setScriptS((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={busy || (fail.length === 0 && cut.length === 0)}>
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

function Prediction(props: { a: WhatIfAnswer }) {
  const a = props.a;
  const lanName = (i: number): string => a.lans.find((l) => l.index === i)?.name ?? `#${i}`;
  const what = [...a.scenario.fail_nodes.map((n) => `${n} fails`), ...a.scenario.cut_lans.map((l) => `LAN ${lanName(l)} is cut`), ...a.scenario.witness_cut_from.map((n) => `${n} loses the witness`)].join(', ');
  const warnings = [...a.warnings, ...a.modules.flatMap((m) => m.warnings)];
  return (
    <div class="prediction" aria-live="polite">
      <h3>If {what}</h3>
      {warnings.length > 0 ? (
        <ul class="warnings" aria-label="Warnings">
          {warnings.map((w, i) => (
            <li key={i} class="banner warn">
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
      <h4>Timeline after the fault</h4>
      <ol class="timeline whatif-timeline">
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
          Computed by {a.answered_by} in {a.computed_ms} ms, simulating {a.scenario.horizon_ms / 1000} s.
        </p>
      </details>
    </div>
  );
}

function ModulePrediction(props: { m: WhatIfModuleOutcome }) {
  const m = props.m;
  return (
    <div class="whatif-module">
      <table class="plain">
        <caption>
          {m.module} ({m.mode}){m.settled_ms !== null ? ` — settles ${afterFault(m.settled_ms)} after the fault` : ' — nothing changes'}
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
