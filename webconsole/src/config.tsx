// The Configuration view (admin): take a module package (a .safe uploaded, or a module as a
// node runs it), edit its userconfig.xml with every problem marked at its line, check it,
// set its macros (as `hakit module install --macro` does),
// install it on the nodes chosen, look at the configurations each node keeps and roll back
// to one, and download a module or a support snapshot. Nothing changes on a node until
// "Install" or "Roll back" is pressed, and the API checks again before it changes anything.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConfigApplied, ConfigCheck, ConfigHistory, ConfigInstallOutcome, ConfigIssueInfo, ConfigNodeResult, FileDownload, UserconfigText } from '../../core/api/contract/pure/config-types';
import { CONFIG_PACKAGE_MAX_BYTES } from '../../core/api/contract/pure/config-types';
import { macroValueProblem, macrosField, macrosOf, type ConfigMacro } from '../../core/api/contract/pure/config-macros';
import { base64ToBytes, bytesToBase64, issuesByLine, lineCount, lineRange, moduleNameFromFile, whereOf } from '../pure/config-editor';
import { api, ApiError, enc } from './api';

interface Draft {
  /** The package the edited userconfig.xml goes into. */
  readonly safe_b64: string;
  /** Where it came from, in words. */
  readonly origin: string;
}

type Verdict = { readonly kind: 'none' } | { readonly kind: 'busy'; readonly what: string } | { readonly kind: 'ok'; readonly text: string } | { readonly kind: 'bad'; readonly text: string };

function errorText(e: unknown): string {
  return e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
}

function saveFile(d: FileDownload): void {
  const url = URL.createObjectURL(new Blob([base64ToBytes(d.content_b64)], { type: d.media_type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = d.file_name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ConfigView(props: { nodes: readonly string[]; modules: readonly string[] }) {
  const [module, setModule] = useState('');
  const [draft, setDraft] = useState<Draft | null>(null);
  const [text, setText] = useState('');
  const [issues, setIssues] = useState<readonly ConfigIssueInfo[]>([]);
  const [verdict, setVerdict] = useState<Verdict>({ kind: 'none' });
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set(props.nodes));
  const [results, setResults] = useState<readonly ConfigNodeResult[] | null>(null);
  const [srcNode, setSrcNode] = useState(props.nodes[0] ?? '');
  const [srcModule, setSrcModule] = useState(props.modules[0] ?? '');
  /** Values typed in the macro form, by macro name (a macro not typed keeps userconfig.xml's value). */
  const [macroValues, setMacroValues] = useState<Readonly<Record<string, string>>>({});
  const macros = macrosOf(text);
  const macroField = macrosField(macros, macroValues);
  const macroBad = macros.some((m) => macroValueProblem(macroValues[m.name] ?? m.value) !== null);

  useEffect(() => {
    if (!srcNode && props.nodes[0]) setSrcNode(props.nodes[0]);
    if (!srcModule && props.modules[0]) setSrcModule(props.modules[0]);
    setChosen((old) => (old.size === 0 ? new Set(props.nodes) : old));
  }, [props.nodes.join(','), props.modules.join(',')]);

  const check = async (b64: string, name: string, uc: string | undefined, macroLines = ''): Promise<void> => {
    setVerdict({ kind: 'busy', what: 'Checking…' });
    setResults(null);
    try {
      const c = await api<ConfigCheck>('POST', `/modules/${enc(name)}/check`, { safe_b64: b64, ...(uc === undefined ? {} : { userconfig: uc }), ...(macroLines ? { macros: macroLines } : {}) });
      if (uc === undefined && c.userconfig !== null) setText(c.userconfig);
      setIssues(c.issues);
      setVerdict(c.ok ? { kind: 'ok', text: `✔ ${name} is a valid ${c.mode ?? ''} module (checked by node ${c.checked_by}).` } : { kind: 'bad', text: `✖ ${c.issues.length} problem${c.issues.length === 1 ? '' : 's'} in ${name}: nothing was installed.` });
    } catch (e) {
      setIssues(e instanceof ApiError ? e.issues : []);
      setVerdict({ kind: 'bad', text: `✖ ${errorText(e)}` });
    }
  };

  const onFile = async (f: File | undefined): Promise<void> => {
    if (!f) return;
    if (f.size > CONFIG_PACKAGE_MAX_BYTES) {
      setVerdict({ kind: 'bad', text: `✖ ${f.name} is ${f.size} bytes; a package may be at most ${CONFIG_PACKAGE_MAX_BYTES} bytes.` });
      return;
    }
    const b64 = bytesToBase64(new Uint8Array(await f.arrayBuffer()));
    const name = moduleNameFromFile(f.name);
    setModule(name);
    setDraft({ safe_b64: b64, origin: `uploaded ${f.name}` });
    setText('');
    setMacroValues({});
    await check(b64, name, undefined);
  };

  const loadInstalled = async (): Promise<void> => {
    if (!srcNode || !srcModule) return;
    setVerdict({ kind: 'busy', what: `Loading ${srcModule} from ${srcNode}…` });
    setResults(null);
    try {
      const [pkg, uc] = await Promise.all([
        api<FileDownload>('GET', `/nodes/${enc(srcNode)}/modules/${enc(srcModule)}/package`),
        api<UserconfigText>('GET', `/nodes/${enc(srcNode)}/modules/${enc(srcModule)}/userconfig`),
      ]);
      setModule(srcModule);
      setDraft({ safe_b64: pkg.content_b64, origin: `${srcModule} as node ${srcNode} runs it (release ${uc.release})` });
      setText(uc.text);
      setMacroValues({});
      setIssues([]);
      setVerdict({ kind: 'none' });
    } catch (e) {
      setVerdict({ kind: 'bad', text: `✖ ${errorText(e)}` });
    }
  };

  const install = async (): Promise<void> => {
    if (!draft) return;
    const nodes = props.nodes.filter((n) => chosen.has(n));
    setVerdict({ kind: 'busy', what: `Installing ${module} on ${nodes.join(', ')}…` });
    setResults(null);
    try {
      const r = await api<ConfigInstallOutcome>('POST', `/modules/${enc(module)}/install`, { safe_b64: draft.safe_b64, ...(text ? { userconfig: text } : {}), ...(macroField ? { macros: macroField } : {}), nodes: nodes.join(',') });
      setIssues([]);
      setResults(r.results);
      const failed = r.results.filter((x) => !x.ok);
      setVerdict(failed.length === 0 ? { kind: 'ok', text: `✔ ${module} installed on ${nodes.join(', ')}.` } : { kind: 'bad', text: `✖ ${failed.map((f) => f.node).join(', ')} did not install ${module}.` });
    } catch (e) {
      setIssues(e instanceof ApiError ? e.issues : []);
      setVerdict({ kind: 'bad', text: `✖ ${errorText(e)}${e instanceof ApiError && e.issues.length > 0 ? ' Nothing was installed.' : ''}` });
    }
  };

  const nodesChosen = props.nodes.filter((n) => chosen.has(n));
  const busy = verdict.kind === 'busy';
  return (
    <section class="config" aria-labelledby="config-title">
      <h2 id="config-title">Configuration</h2>
      <div class="config-sources">
        <fieldset>
          <legend>Upload a module package</legend>
          <label for="config-file">Module package (.safe)</label>
          <input id="config-file" type="file" accept=".safe,application/zip" onChange={(e) => void onFile((e.currentTarget as HTMLInputElement).files?.[0])} />
        </fieldset>
        <fieldset>
          <legend>Or edit an installed module</legend>
          <label for="config-src-module">Module</label>
          <select id="config-src-module" value={srcModule} onChange={(e) => setSrcModule((e.currentTarget as HTMLSelectElement).value)}>
            {props.modules.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
          <label for="config-src-node">from node</label>
          <select id="config-src-node" value={srcNode} onChange={(e) => setSrcNode((e.currentTarget as HTMLSelectElement).value)}>
            {props.nodes.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <button type="button" disabled={busy || !srcModule} onClick={() => void loadInstalled()}>
            Load
          </button>
        </fieldset>
      </div>

      {draft && (
        <>
          <p class="note">
            Editing <strong>{module}</strong>: {draft.origin}.
          </p>
          <Editor text={text} issues={issues} onChange={setText} />
          <IssueList issues={issues} text={text} />
          <MacroForm macros={macros} values={macroValues} onChange={(name, value) => setMacroValues((old) => ({ ...old, [name]: value }))} />
          <div class="row config-actions">
            <button type="button" disabled={busy || macroBad} onClick={() => void check(draft.safe_b64, module, text || undefined, macroField)}>
              Check
            </button>
            <fieldset class="inline">
              <legend>Install on</legend>
              {props.nodes.map((n) => (
                <label key={n} class="check">
                  <input
                    type="checkbox"
                    checked={chosen.has(n)}
                    onChange={(e) => {
                      const on = (e.currentTarget as HTMLInputElement).checked;
                      setChosen((old) => {
                        const next = new Set(old);
                        if (on) next.add(n);
                        else next.delete(n);
                        return next;
                      });
                    }}
                  />{' '}
                  {n}
                </label>
              ))}
            </fieldset>
            <button type="button" class="primary" disabled={busy || macroBad || nodesChosen.length === 0} onClick={() => void install()}>
              Install on {nodesChosen.length} node{nodesChosen.length === 1 ? '' : 's'}
            </button>
          </div>
        </>
      )}

      <p class={`verdict ${verdict.kind}`} role="status" aria-live="polite">
        {verdict.kind === 'busy' ? `⟳ ${verdict.what}` : verdict.kind === 'none' ? '' : verdict.text}
      </p>
      {results && (
        <ul class="results" aria-label="Install results">
          {results.map((r) => (
            <li key={r.node} class={r.ok ? 'res-up' : 'res-down'}>
              {r.ok ? '✔' : '✖'} {r.node}: {r.ok ? `release ${r.release ?? '?'} — ${r.detail}` : `${r.error?.code ?? ''} ${r.error?.message ?? r.detail}`}
            </li>
          ))}
        </ul>
      )}

      <History nodes={props.nodes} module={module || srcModule} refreshKey={results} />
      <Downloads nodes={props.nodes} module={module || srcModule} />
    </section>
  );
}

/**
 * The macros of the edited userconfig.xml, each with the value the file gives it; a value
 * typed here replaces it at check and install (`--macro NAME=VALUE`), the file in the editor
 * stays as it is. A value the CLI would refuse is marked at once; the API checks again.
 */
function MacroForm(props: { macros: readonly ConfigMacro[]; values: Readonly<Record<string, string>>; onChange: (name: string, value: string) => void }) {
  if (props.macros.length === 0) return <p class="note macros-none">This module's userconfig.xml defines no macro.</p>;
  return (
    <fieldset class="macros">
      <legend>Macros (set at install, as hakit module install --macro NAME=VALUE)</legend>
      {props.macros.map((m) => {
        const value = props.values[m.name] ?? m.value;
        const problem = macroValueProblem(value);
        const changed = value !== m.value;
        const id = `macro-${m.name}`;
        return (
          <div key={m.name} class="macro" data-macro={m.name} data-changed={String(changed)}>
            <label for={id}>{m.name}</label>
            <input id={id} value={value} aria-invalid={problem !== null} aria-describedby={`${id}-note`} spellcheck={false} onInput={(e) => props.onChange(m.name, (e.currentTarget as HTMLInputElement).value)} />
            <span id={`${id}-note`} class={problem ? 'macro-note bad' : 'macro-note'}>
              {problem ? `✖ ${problem}` : changed ? `✎ changed; userconfig.xml line ${m.line} says "${m.value}"` : `default, userconfig.xml line ${m.line}`}
            </span>
          </div>
        );
      })}
    </fieldset>
  );
}

function Editor(props: { text: string; issues: readonly ConfigIssueInfo[]; onChange: (t: string) => void }) {
  const gutter = useRef<HTMLDivElement>(null);
  const bad = issuesByLine(props.issues);
  const lines = lineCount(props.text);
  const numbers = [];
  for (let l = 1; l <= lines; l++) {
    const here = bad.get(l);
    numbers.push(
      <span key={l} data-line={l} class={here ? 'bad' : undefined} title={here?.map((i) => `${i.code}: ${i.message}`).join('\n')}>
        {here ? '✖ ' : ''}
        {l}
      </span>,
    );
  }
  return (
    <div class="editor">
      <label for="config-userconfig">conf/userconfig.xml</label>
      <div class="editor-body">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {numbers}
        </div>
        <textarea
          id="config-userconfig"
          spellcheck={false}
          wrap="off"
          rows={20}
          value={props.text}
          aria-invalid={bad.size > 0 ? 'true' : undefined}
          aria-describedby="config-issues"
          onInput={(e) => props.onChange((e.currentTarget as HTMLTextAreaElement).value)}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.currentTarget as HTMLTextAreaElement).scrollTop;
          }}
        />
      </div>
    </div>
  );
}

function jumpTo(text: string, line: number): void {
  const ta = document.getElementById('config-userconfig') as HTMLTextAreaElement | null;
  if (!ta) return;
  const r = lineRange(text, line);
  ta.focus();
  ta.setSelectionRange(r.start, r.end);
  const lh = parseFloat(getComputedStyle(ta).lineHeight) || 18;
  ta.scrollTop = Math.max(0, (line - 3) * lh);
}

function IssueList(props: { issues: readonly ConfigIssueInfo[]; text: string }) {
  return (
    <ul id="config-issues" class="issues" aria-label="Problems found">
      {props.issues.map((i, k) => (
        <li key={k}>
          ✖{' '}
          {i.line !== null && i.file === 'conf/userconfig.xml' ? (
            <button type="button" class="link" onClick={() => jumpTo(props.text, i.line as number)}>
              {whereOf(i)}
            </button>
          ) : (
            <span>{whereOf(i)}</span>
          )}
          : <code>{i.code}</code> {i.message}
        </li>
      ))}
    </ul>
  );
}

function History(props: { nodes: readonly string[]; module: string; refreshKey: unknown }) {
  const [picked, setNode] = useState('');
  // The node list arrives after the first render: until one is picked, the first node.
  const node = picked || props.nodes[0] || '';
  const [h, setH] = useState<ConfigHistory | null>(null);
  const [msg, setMsg] = useState('');
  const load = async (): Promise<void> => {
    if (!props.module || !node) return;
    try {
      setH(await api<ConfigHistory>('GET', `/nodes/${enc(node)}/modules/${enc(props.module)}/history`));
    } catch (e) {
      setH(null);
      setMsg(e instanceof ApiError && e.code === 'HAKIT_E_MOD_NOT_INSTALLED' ? `${props.module} is not installed on ${node}.` : `✖ ${errorText(e)}`);
    }
  };
  useEffect(() => {
    setMsg('');
    void load();
  }, [node, props.module, props.refreshKey]);
  const rollback = async (release: number): Promise<void> => {
    setMsg(`⟳ Rolling ${props.module} back to release ${release} on ${node}…`);
    try {
      const r = await api<ConfigApplied>('POST', `/nodes/${enc(node)}/modules/${enc(props.module)}/rollback`, { release });
      setMsg(`✔ ${r.module} on ${r.node} is at release ${r.release} — ${r.detail}.`);
      await load();
    } catch (e) {
      setMsg(`✖ ${errorText(e)}`);
    }
  };
  return (
    <div class="history">
      <h3>Configurations kept</h3>
      <label for="config-history-node">Node</label>{' '}
      <select id="config-history-node" value={node} onChange={(e) => setNode((e.currentTarget as HTMLSelectElement).value)}>
        {props.nodes.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>{' '}
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      {h && (
        <table class="plain">
          <caption class="sr-only">
            Configurations of {h.module} kept on {h.node}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Release</th>
              <th scope="col">Installed</th>
              <th scope="col">Mode</th>
              <th scope="col">userconfig.xml</th>
              <th scope="col">
                <span class="sr-only">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {h.releases.map((r) => (
              <tr key={r.release} data-release={r.release}>
                <td>
                  {r.release}
                  {r.applied ? ' ● applied' : ''}
                </td>
                <td>{new Date(r.installed_at).toLocaleString()}</td>
                <td>{r.mode ?? '?'}</td>
                <td>
                  <code>{r.userconfig_sha256?.slice(0, 12) ?? '?'}</code>
                </td>
                <td>
                  {!r.applied && (
                    <button type="button" onClick={() => void rollback(r.release)}>
                      Roll back to release {r.release}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="note" role="status">
        {msg}
      </p>
    </div>
  );
}

function Downloads(props: { nodes: readonly string[]; module: string }) {
  const [picked, setNode] = useState('');
  const node = picked || props.nodes[0] || '';
  const [msg, setMsg] = useState('');
  const get = async (path: string): Promise<void> => {
    setMsg('⟳ Preparing the file…');
    try {
      const d = await api<FileDownload>('GET', path);
      saveFile(d);
      setMsg(`✔ ${d.file_name} (${d.size_bytes} bytes) from ${d.node}.`);
    } catch (e) {
      setMsg(`✖ ${errorText(e)}`);
    }
  };
  return (
    <div class="downloads">
      <h3>Downloads</h3>
      <label for="config-dl-node">Node</label>{' '}
      <select id="config-dl-node" value={node} onChange={(e) => setNode((e.currentTarget as HTMLSelectElement).value)}>
        {props.nodes.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>{' '}
      <button type="button" disabled={!props.module} onClick={() => void get(`/nodes/${enc(node)}/modules/${enc(props.module)}/package`)}>
        Download {props.module || 'module'} (.safe)
      </button>{' '}
      <button type="button" onClick={() => void get(`/nodes/${enc(node)}/snapshot`)}>
        Download support snapshot
      </button>
      <p class="note" role="status">
        {msg}
      </p>
    </div>
  );
}
