import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';

const LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical'];
function rank(level) {
  const l = level === 'warn' ? 'warning' : level === 'err' ? 'error' : level;
  const i = LEVELS.indexOf(l);
  return i < 0 ? 2 : i;
}

function line(l) {
  return `${l.ts} ${l.level.padEnd(5)} [${l.node}] ${l.text}`;
}

function LogsView({ state }) {
  const [node, setNode] = useState('');
  const [level, setLevel] = useState('');
  const [text, setText] = useState('');
  const [follow, setFollow] = useState(true);
  const box = useRef(null);
  const nodes = [...new Set([...(state.cluster ? state.cluster.nodes.map((n) => n.id) : []), ...state.logs.map((l) => l.node)])].sort();
  const needle = text.toLowerCase();
  const shown = state.logs.filter((l) => (!node || l.node === node) && (!level || rank(l.level) >= rank(level)) &&
    (!needle || l.text.toLowerCase().includes(needle)));
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  });
  const download = () => {
    const blob = new Blob([shown.map(line).join('\n') + '\n'], { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `minga-logs-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return html`<section aria-labelledby="logs-h">
    <h2 id="logs-h">Logs</h2>
    <form class="inline" onSubmit=${(e) => e.preventDefault()} aria-label="Filter the logs">
      <label>Node <select value=${node} onChange=${(e) => setNode(e.target.value)} data-testid="log-node">
        <option value="">all</option>${nodes.map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
      <label>Level at least <select value=${level} onChange=${(e) => setLevel(e.target.value)} data-testid="log-level">
        <option value="">any</option><option value="debug">debug</option><option value="info">info</option>
        <option value="warning">warning</option><option value="error">error</option></select></label>
      <label>Text <input type="search" value=${text} onInput=${(e) => setText(e.target.value)} data-testid="log-text" /></label>
      <label class="check"><input type="checkbox" checked=${follow} onChange=${(e) => setFollow(e.target.checked)} /> Follow</label>
      <button type="button" onClick=${download}>Download</button>
    </form>
    <p class="muted" aria-live="polite">${shown.length} of ${state.logs.length} lines (merged from every node, by time)</p>
    <div class="logs" ref=${box} role="log" tabindex="0" aria-label="Log lines" data-testid="logs">
      ${shown.slice(-1000).map((l, i) => html`<div key=${i} class=${'ll lvl-' + l.level}><span class="ts">${l.ts}</span> <span class="lv">${l.level}</span> <span class="nd">[${l.node}]</span> ${l.text}</div>`)}
    </div>
  </section>`;
}

export default { id: 'logs', title: 'Logs', View: LogsView };
