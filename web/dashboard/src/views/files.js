import { useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, clock } from '../store.js';

// A name as one path segment of /api/v1/files/{name}: its '/' as %2F. The
// path /api/v1/files/stat is the stat route, so a file named `stat` goes
// as %73tat (docs/api.md).
export function filePath(name) {
  return '/files/' + (name === 'stat' ? '%73tat' : encodeURIComponent(name));
}

export function bytes(n) {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i += 1;
  }
  return `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

function baseName(name) {
  return name.slice(name.lastIndexOf('/') + 1);
}

// PUT with the file as the raw body: the browser streams it from disk.
async function upload(name, file) {
  const r = await fetch('/api/v1' + filePath(name), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: file,
  });
  const json = await r.json().catch(() => null);
  if (!r.ok) throw new Error(json && json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${r.status}`);
  return json.file;
}

const KNOWN = {
  count: 'Files', bytes: 'Bytes', replicas: 'Replicas per file', max_size: 'Largest file',
  uploads: 'Open uploads', fetches: 'Blobs fetched', repairs: 'Blobs repaired',
};

// The serving node's `files` section of /status, whatever keys it has
// (counts of fetches and repairs, and the background repair's state
// where the node reports one).
function FilesStatus({ status }) {
  if (!status) return html`<p class="muted" data-testid="files-status-none">This node's status has no files section.</p>`;
  const entries = Object.entries(status);
  const show = (k, v) => {
    if (k === 'bytes' || k === 'max_size') return bytes(v);
    if (v !== null && typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  return html`<dl class="summary" aria-label="Files status of this node" data-testid="files-status">
    ${entries.map(([k, v]) => html`<div key=${k}><dt>${KNOWN[k] || k.replace(/_/g, ' ')}</dt><dd data-key=${k}>${show(k, v)}</dd></div>`)}
  </dl>`;
}

function Row({ f, onNote }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef(null);
  const ask = () => {
    setConfirming(true);
    setTimeout(() => yes.current && yes.current.focus(), 0);
  };
  const remove = async () => {
    setBusy(true);
    try {
      const r = await api('DELETE', filePath(f.name));
      onNote(`deleted ${f.name} (log index ${r.index})`);
    } catch (e) {
      onNote(`not deleted: ${e.message}`);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return html`<tr data-file=${f.name}>
    <th scope="row" class="name">${f.name}</th>
    <td class="num" title=${`${f.size} bytes`}>${bytes(f.size)}</td>
    <td>${clock(Number(f.created_ms))}</td>
    <td data-testid="replicas">${f.replicas.join(', ')}</td>
    <td><code title=${f.sha256}>${f.sha256.slice(0, 12)}…</code></td>
    <td><div class="actions">
      <a class="button" href=${'/api/v1' + filePath(f.name)} download=${baseName(f.name)}
        aria-label=${`Download ${f.name}`}>Download</a>
      ${confirming
        ? html`<span role="group" aria-label=${`Confirm deleting ${f.name}`}>
            <button type="button" class="danger" ref=${yes} disabled=${busy} onClick=${remove}>Delete ${baseName(f.name)}?</button>
            <button type="button" class="secondary" onClick=${() => setConfirming(false)}>Cancel</button>
          </span>`
        : html`<button type="button" class="secondary" onClick=${ask} aria-label=${`Delete ${f.name}`}>Delete</button>`}
    </div></td>
  </tr>`;
}

function FilesView({ state }) {
  const [prefix, setPrefix] = useState('');
  const [folder, setFolder] = useState('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [over, setOver] = useState(false);
  const input = useRef(null);
  const files = state.files;

  const send = async (list) => {
    if (!list || list.length === 0) return;
    setBusy(true);
    const done = [];
    try {
      for (const file of list) {
        const name = (folder ? folder.replace(/\/+$/, '') + '/' : '') + file.name;
        setNote(`uploading ${name} (${bytes(file.size)})…`);
        const entry = await upload(name, file);
        done.push(`${entry.name} (${bytes(entry.size)}, on ${entry.replicas.join(', ')})`);
      }
      setNote(`stored ${done.join('; ')}`);
    } catch (e) {
      setNote(`${done.length ? `stored ${done.join('; ')}; then ` : ''}not stored: ${e.message}`);
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  };
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    send(e.dataTransfer ? [...e.dataTransfer.files] : []);
  };
  const dragOver = (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    setOver(true);
  };

  const all = files && files.list ? files.list.files : [];
  const shown = all.filter((f) => f.name.startsWith(prefix));
  return html`<section aria-labelledby="files-h">
    <h2 id="files-h">Files</h2>
    ${files ? html`<${FilesStatus} status=${files.status} />` : html`<p class="muted">Waiting for the files' catalogue…</p>`}
    <form class=${'drop' + (over ? ' over' : '')} aria-label="Upload files" data-testid="drop-zone"
      onSubmit=${(e) => e.preventDefault()} onDragOver=${dragOver} onDragEnter=${dragOver} onDragLeave=${() => setOver(false)} onDrop=${drop}>
      <p id="drop-hint">Drop files here, or choose them. Each is stored under its own name, in the folder if one is given.</p>
      <div class="inline">
        <label for="file-folder">Folder (optional)</label>
        <input id="file-folder" type="text" value=${folder} placeholder="docs/2026" onInput=${(e) => setFolder(e.target.value)} />
        <label for="file-input">Files to upload</label>
        <input id="file-input" type="file" multiple ref=${input} disabled=${busy} aria-describedby="drop-hint"
          onChange=${(e) => send([...e.target.files])} />
      </div>
      <output aria-live="polite" data-testid="file-note">${note}</output>
    </form>
    <form class="inline" role="search" aria-label="Filter files" onSubmit=${(e) => e.preventDefault()}>
      <label for="file-prefix">Names starting with</label>
      <input id="file-prefix" type="search" value=${prefix} onInput=${(e) => setPrefix(e.target.value)} />
    </form>
    <p class="muted" data-testid="file-count">${shown.length} of ${all.length} file${all.length === 1 ? '' : 's'} shown${files && files.list && files.list.more ? ' (the catalogue has more than one page; the first is listed)' : ''}, as this node applied the catalogue.</p>
    ${shown.length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Files table, scrolls sideways">
    <table class="files">
      <caption>Files: size, when stored, the nodes holding their bytes, and their SHA-256</caption>
      <thead><tr><th scope="col">Name</th><th scope="col" class="num">Size</th><th scope="col">Stored</th>
        <th scope="col">Replicas</th><th scope="col">SHA-256</th><th scope="col">Actions</th></tr></thead>
      <tbody>${shown.map((f) => html`<${Row} key=${f.name + '@' + f.index} f=${f} onNote=${setNote} />`)}</tbody>
    </table></div>`}
  </section>`;
}

export default { id: 'files', title: 'Files', View: FilesView };
