import { html } from '../html.js';
import { Chart } from '../chart.js';
import { clock } from '../store.js';

// The log of one node as a bar: snapshot | applied | committed | written.
function LogBar({ n, max }) {
  const pct = (v) => `${max > 0 ? Math.min(100, (v / max) * 100) : 0}%`;
  return html`<div class="logbar" role="img" aria-label=${`log of ${n.id}: snapshot ${n.snapshot}, applied ${n.applied}, committed ${n.commit}, last ${n.last}`}>
    <div class="seg last" style=${{ width: pct(n.last) }}></div>
    <div class="seg commit" style=${{ width: pct(n.commit) }}></div>
    <div class="seg applied" style=${{ width: pct(n.applied) }}></div>
    <div class="seg snapshot" style=${{ width: pct(n.snapshot) }}></div>
  </div>`;
}

function Node({ n, leader, events, max }) {
  const isLeader = n.id === leader;
  // A follower the leader heard from within the last round: its heartbeat
  // dot blinks once per update (restarted by the key).
  const beating = n.reachable && !isLeader && n.last_contact >= 0 && n.last_contact < 1;
  return html`<li class=${'raft-node' + (isLeader ? ' is-leader' : '') + (n.reachable ? '' : ' is-down')} data-node=${n.id}>
    <h3>${isLeader ? '★ ' : ''}${n.id} <span class=${'badge role-' + n.role}>${n.role}</span></h3>
    <p>term <strong>${n.reachable || n.stale ? n.term : '–'}</strong>${n.stale ? ' (last known)' : ''} · ${n.voter ? 'voter' : 'learner'}</p>
    <p class="beat">${beating ? html`<span key=${events} class="dot" aria-hidden="true"></span> heartbeat ${(n.last_contact * 1000).toFixed(0)} ms ago`
      : isLeader ? 'sends the heartbeats' : n.reachable ? 'no heartbeat seen' : 'down'}</p>
    <${LogBar} n=${n} max=${max} />
    <p class="indexes">${n.stale ? 'last known: ' : ''}applied ${n.applied} · commit ${n.commit} · last ${n.last}</p>
  </li>`;
}

function RaftView({ state }) {
  const c = state.cluster;
  if (!c) return html`<section aria-labelledby="raft-h"><h2 id="raft-h">Raft</h2><p class="muted">Waiting for data…</p></section>`;
  const max = Math.max(1, ...c.nodes.map((n) => n.last));
  const ids = c.nodes.map((n) => n.id);
  const hist = state.indexHistory;
  const data = [hist.map((h) => h.t / 1000), ...ids.map((id) => hist.map((h) => (h.nodes[id] && h.nodes[id].reachable ? h.nodes[id].commit : null)))];
  // Newest first by their own time (a node's log line can be older than the
  // round that brought it).
  const entries = [...state.timeline].sort((a, b) => b.t - a.t).slice(0, 60);
  return html`<section aria-labelledby="raft-h">
    <h2 id="raft-h">Raft</h2>
    <p class="muted">Each node's term, role and log as it reports them, every ${c.interval_ms} ms. The bar shows, from
    dark to light, the entries in the snapshot, applied, committed and written.</p>
    <ul class="raft-nodes">${c.nodes.map((n) => html`<${Node} key=${n.id} n=${n} leader=${c.leader} events=${state.events} max=${max} />`)}</ul>
    <${Chart} title="Commit index" unit="index" series=${ids} data=${data} label="Commit index of every node over time" />
    <h3 id="timeline-h">Leadership timeline</h3>
    <ol class="timeline" aria-labelledby="timeline-h" aria-live="polite" data-testid="timeline">
      ${entries.length === 0 && html`<li class="muted">No change seen yet.</li>`}
      ${entries.map((e, i) => html`<li key=${e.t + e.kind + e.node + i} class=${'tl-' + e.kind}><time>${clock(e.t)}</time> <span class="kind">${e.kind}</span> ${e.text}</li>`)}
    </ol>
  </section>`;
}

export default { id: 'raft', title: 'Raft', View: RaftView };
