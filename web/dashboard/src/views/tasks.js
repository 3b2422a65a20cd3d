import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { Chart } from '../chart.js';
import { api, base64 } from '../store.js';

function series(points, field) {
  const ids = [...new Set(points.flatMap((p) => Object.keys(p[field] || {})))].sort();
  const data = [points.map((p) => p.t / 1000), ...ids.map((id) => points.map((p) => (p[field] && p[field][id] != null ? p[field][id] : null)))];
  return { ids, data };
}

function RunTasks() {
  const [kind, setKind] = useState('uppercase');
  const [count, setCount] = useState(50);
  const [note, setNote] = useState('');
  const run = async (ev) => {
    ev.preventDefault();
    const n = Math.max(1, Math.min(500, Number(count) || 1));
    const body = kind === 'add' ? { kind, a: 2, b: 3 } : kind === 'sleep' ? { kind, seconds: 0.05 } : { kind, text: base64('hola minga') };
    setNote(`running ${n} ${kind} tasks…`);
    let ok = 0, failed = 0;
    const started = performance.now();
    // Eight at a time: enough to load the workers, bounded for the page.
    let next = 0;
    const worker = async () => {
      while (next < n) {
        next += 1;
        try { await api('POST', '/tasks', body); ok += 1; } catch { failed += 1; }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    setNote(`${ok} answered, ${failed} failed in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  };
  return html`<form class="inline" onSubmit=${run} aria-label="Run tasks">
    <label>Kind <select value=${kind} onChange=${(e) => setKind(e.target.value)}>
      <option value="uppercase">uppercase</option><option value="add">add</option><option value="sleep">sleep 50 ms</option>
    </select></label>
    <label>Count <input type="number" min="1" max="500" value=${count} onInput=${(e) => setCount(e.target.value)} /></label>
    <button type="submit">Run tasks</button>
    <output aria-live="polite" data-testid="task-note">${note}</output>
  </form>`;
}

function TasksView({ state }) {
  const rate = series(state.points, 'rate');
  const mean = series(state.points, 'mean_ms');
  const p95 = series(state.points, 'p95_ms');
  const lat = { ids: [...mean.ids.map((id) => `${id} mean`), ...p95.ids.map((id) => `${id} p95`)], data: [mean.data[0], ...mean.data.slice(1), ...p95.data.slice(1)] };
  const w = state.workers;
  return html`<section aria-labelledby="tasks-h">
    <h2 id="tasks-h">Tasks and workers</h2>
    <${RunTasks} />
    <div class="charts">
      <${Chart} title="Throughput" unit="tasks/s" series=${rate.ids} data=${rate.data} label="Tasks answered per second by each node" />
      <${Chart} title="Latency" unit="ms" series=${lat.ids} data=${lat.data} label="Mean and 95th percentile task latency of each node" />
    </div>
    <h3>Workers</h3>
    ${!w ? html`<p class="muted">Waiting for the worker table…</p>` : html`<p>Coordinator <strong>${w.coordinator_id}</strong>, policy <strong>${w.policy}</strong>.</p>
    <div class="scroll" tabindex="0" role="region" aria-label="Workers table, scrolls sideways"><table class="workers">
      <caption>The coordinator's worker table</caption>
      <thead><tr><th scope="col">Worker</th><th scope="col">Address</th><th scope="col">State</th><th scope="col" class="num">Capacity</th>
        <th scope="col" class="num">In flight</th><th scope="col" class="num">Done</th><th scope="col" class="num">Failed</th>
        <th scope="col" class="num">Reassigned</th><th scope="col">Last heartbeat</th></tr></thead>
      <tbody>${w.workers.map((x) => html`<tr key=${x.id} data-worker=${x.id}><th scope="row">${x.id}</th><td>${x.address}</td><td>${x.state}</td>
        <td class="num">${x.capacity}</td><td class="num">${x.in_flight}</td><td class="num" data-testid="worker-done">${x.done}</td><td class="num">${x.failed}</td>
        <td class="num">${x.reassigned}</td><td>${x.last_heartbeat_seconds_ago.toFixed(1)} s ago</td></tr>`)}</tbody>
    </table></div>`}
  </section>`;
}

export default { id: 'tasks', title: 'Tasks', View: TasksView };
