import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { html } from './html.js';
import { connect, initialState } from './store.js';
import { views } from './views/index.js';

function current() {
  const id = location.hash.replace(/^#/, '');
  return views.some((v) => v.id === id) ? id : views[0].id;
}

// Tabs after the ARIA pattern: arrow keys, Home and End move between them.
function Tabs({ active, onSelect }) {
  const refs = useRef({});
  const key = (e) => {
    const i = views.findIndex((v) => v.id === active);
    let j = null;
    if (e.key === 'ArrowRight') j = (i + 1) % views.length;
    if (e.key === 'ArrowLeft') j = (i - 1 + views.length) % views.length;
    if (e.key === 'Home') j = 0;
    if (e.key === 'End') j = views.length - 1;
    if (j === null) return;
    e.preventDefault();
    onSelect(views[j].id);
    refs.current[views[j].id].focus();
  };
  return html`<nav aria-label="Views"><div role="tablist" aria-label="Dashboard views" onKeyDown=${key}>
    ${views.map((v) => html`<button key=${v.id} role="tab" id=${'tab-' + v.id} aria-controls=${'panel-' + v.id}
      aria-selected=${v.id === active ? 'true' : 'false'} tabindex=${v.id === active ? 0 : -1}
      ref=${(el) => { refs.current[v.id] = el; }} onClick=${() => onSelect(v.id)}>${v.title}</button>`)}
  </div></nav>`;
}

function App() {
  const [state, setState] = useState(initialState);
  const [active, setActive] = useState(current());
  useEffect(() => connect(setState), []);
  useEffect(() => {
    const on = () => setActive(current());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const select = (id) => {
    history.replaceState(null, '', '#' + id);
    setActive(id);
  };
  const view = views.find((v) => v.id === active);
  const c = state.cluster;
  return html`<header>
      <h1>minga <span class="muted">dashboard</span></h1>
      <p class="conn" role="status" data-testid="connection">
        <span class=${'led ' + (state.connected ? 'on' : 'off')} aria-hidden="true"></span>
        ${state.connected ? `live from ${state.node}` : 'connecting…'}${c ? ` · leader ${c.leader || 'none'} · term ${c.term}` : ''}
      </p>
    </header>
    <${Tabs} active=${active} onSelect=${select} />
    <main id=${'panel-' + view.id} role="tabpanel" aria-labelledby=${'tab-' + view.id} tabindex="-1" data-view=${view.id}>
      <${view.View} state=${state} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
