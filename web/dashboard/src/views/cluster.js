import { html } from '../html.js';
import { clock } from '../store.js';

function contact(n, leader) {
  if (!n.reachable) return 'no answer';
  if (n.id === leader) return 'leader';
  return n.last_contact >= 0 ? `${(n.last_contact * 1000).toFixed(0)} ms ago` : 'unknown';
}

export function Summary({ cluster }) {
  if (!cluster) return html`<p class="muted">Waiting for the first round of status from the members…</p>`;
  const up = cluster.nodes.filter((n) => n.reachable).length;
  return html`<dl class="summary" aria-label="Cluster summary">
    <div><dt>Leader</dt><dd data-testid="leader">${cluster.leader || 'none (election)'}</dd></div>
    <div><dt>Term</dt><dd>${cluster.term}</dd></div>
    <div><dt>Nodes answering</dt><dd>${up} of ${cluster.nodes.length}</dd></div>
    <div><dt>Can lose</dt><dd data-testid="can-lose">${cluster.leader ? `${cluster.can_lose} more voter${cluster.can_lose === 1 ? '' : 's'}` : 'no quorum now'}</dd></div>
    <div><dt>Served by</dt><dd>${cluster.serving}</dd></div>
    <div><dt>Updated</dt><dd>${clock(cluster.t)}</dd></div>
  </dl>`;
}

function ClusterView({ state }) {
  const c = state.cluster;
  return html`<section aria-labelledby="cluster-h">
    <h2 id="cluster-h">Cluster</h2>
    <${Summary} cluster=${c} />
    ${c && html`<div class="scroll" tabindex="0" role="region" aria-label="Members table, scrolls sideways">
    <table class="members">
      <caption>Every member as it answers for itself (lag and last contact as the leader sees them)</caption>
      <thead><tr>
        <th scope="col">Node</th><th scope="col">Role</th><th scope="col">Term</th><th scope="col">Membership</th>
        <th scope="col" class="num">Commit</th><th scope="col" class="num">Applied</th><th scope="col" class="num">Lag</th>
        <th scope="col">Last contact</th><th scope="col">Health</th>
      </tr></thead>
      <tbody>${c.nodes.map((n) => html`<tr key=${n.id} data-node=${n.id} data-role=${n.role} class=${n.id === c.leader ? 'is-leader' : ''}>
        <th scope="row">${n.id === c.leader ? html`<span aria-hidden="true">★ </span>` : ''}${n.id}${n.id === c.leader ? html`<span class="sr-only"> (leader)</span>` : ''}</th>
        <td><span class=${'badge role-' + n.role}>${n.role}</span></td>
        <td>${n.reachable ? n.term : '–'}</td>
        <td>${n.voter ? 'voter' : 'learner'}</td>
        <td class="num">${n.reachable ? n.commit : '–'}</td>
        <td class="num">${n.reachable ? n.applied : '–'}</td>
        <td class="num">${n.lag >= 0 ? n.lag : '–'}</td>
        <td>${contact(n, c.leader)}</td>
        <td><span class=${'health health-' + n.health.replace(' ', '-')}>${n.health}</span>${n.note ? html` <span class="note">(${n.note})</span>` : ''}</td>
      </tr>`)}</tbody>
    </table></div>`}
  </section>`;
}

export default { id: 'cluster', title: 'Cluster', View: ClusterView };
