import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, base64 } from '../store.js';

function RecordsView({ state }) {
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const add = async (ev) => {
    ev.preventDefault();
    if (!text) return;
    setBusy(true);
    try {
      const r = await api('POST', '/records', { text: base64(text) });
      setNote(`stored at index ${r.index}; it appears below once this node has applied it`);
      setText('');
    } catch (e) {
      setNote(`not stored: ${e.message}`);
    } finally {
      setBusy(false);
    }
  };
  const list = [...state.records].reverse();
  return html`<section aria-labelledby="records-h">
    <h2 id="records-h">Records</h2>
    <form class="inline" onSubmit=${add} aria-label="Add a record">
      <label for="record-text">Record text</label>
      <input id="record-text" type="text" maxlength="1000" value=${text} onInput=${(e) => setText(e.target.value)} required />
      <button type="submit" disabled=${busy}>Add record</button>
      <output aria-live="polite" data-testid="record-note">${note}</output>
    </form>
    <p class="muted">${state.records.length} record${state.records.length === 1 ? '' : 's'} shown (the last 500), newest first, as this node applied them from the replicated log.</p>
    <ol class="records" aria-label="Records" aria-live="polite" data-testid="records">
      ${list.map((r) => html`<li key=${r.index}><span class="index">#${r.index}</span> <span class="text">${r.text}</span></li>`)}
    </ol>
  </section>`;
}

export default { id: 'records', title: 'Records', View: RecordsView };
