import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { Chart } from '../chart.js';
import { api, clock } from '../store.js';
import { bytes } from './files.js';

// Fashion-MNIST's classes, for a model of 784 inputs and 10 classes.
export const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const STATES = { ML_QUEUED: 'queued', ML_RUNNING: 'running', ML_READY: 'ready', ML_FAILED: 'failed', ML_CANCELLED: 'cancelled' };
const stateOf = (job) => STATES[job.state] || String(job.state).toLowerCase();
const ended = (job) => ['ready', 'failed', 'cancelled'].includes(stateOf(job));
const pct = (v) => (v == null || v < 0 ? '–' : `${(v * 100).toFixed(2)} %`);

function classNames(job) {
  const a = job.architecture || [];
  if (a.length >= 2 && a[0] === 784 && a[a.length - 1] === 10) return FASHION;
  const n = a.length ? a[a.length - 1] : 0;
  return Array.from({ length: n }, (_, i) => `class ${i}`);
}

function dataset(job) {
  const d = job.data || {};
  const train = d.train;
  return d.format === 'idx' ? `${train} + ${d.train_labels}` : train;
}

function lastEpoch(job) {
  return job.epochs && job.epochs.length ? job.epochs[job.epochs.length - 1] : null;
}

// A stored file's name, typed or chosen from the catalogue.
function FileField({ id, label, value, onInput, required, hint }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} type="text" list="ml-files" value=${value} required=${required} placeholder=${hint || ''}
      autocomplete="off" spellcheck="false" onInput=${(e) => onInput(e.target.value)} />
  </div>`;
}

// The name of the labels file that goes with an IDX images file, when the
// catalogue has one (Fashion-MNIST's naming).
function labelsFor(images, names) {
  const guess = images.replace('images-idx3', 'labels-idx1');
  return guess !== images && names.includes(guess) ? guess : '';
}

function TrainForm({ names, onStarted }) {
  const [f, setF] = useState({
    name: '', format: 'idx', train: '', train_labels: '', test: '', test_labels: '', label_column: '',
    layers: '64', epochs: '2', batch: '64', lr: '0.001', optimizer: 'adam',
  });
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k) => (v) => setF((old) => {
    const next = { ...old, [k]: v };
    if (k === 'train' && !old.train_labels) next.train_labels = labelsFor(v, names);
    if (k === 'test' && !old.test_labels) next.test_labels = labelsFor(v, names);
    return next;
  });
  const idx = f.format === 'idx';
  const submit = async (e) => {
    e.preventDefault();
    const hidden = f.layers.trim() === '' ? [] : f.layers.split(',').map((w) => w.trim());
    if (hidden.some((w) => !/^\d+$/.test(w))) {
      setNote(`not started: the hidden layers are widths separated by commas, not '${f.layers}'`);
      return;
    }
    const data = { format: f.format, train: f.train.trim() };
    if (idx) data.train_labels = f.train_labels.trim();
    if (f.test.trim()) {
      data.test = f.test.trim();
      if (idx) data.test_labels = f.test_labels.trim();
    }
    if (!idx && f.label_column.trim()) data.label_column = f.label_column.trim();
    const body = {
      name: f.name.trim(), data,
      hyper: { hidden: hidden.map(Number), epochs: Number(f.epochs), batch: Number(f.batch), learning_rate: Number(f.lr), optimizer: f.optimizer },
    };
    setBusy(true);
    setNote('starting…');
    try {
      const r = await api('POST', '/ml/models', body);
      setNote(`started model ${r.job.id} (${stateOf(r.job)})`);
      onStarted(r.job.id);
    } catch (err) {
      setNote(`not started: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="ml-train" aria-labelledby="ml-train-h" onSubmit=${submit}>
    <h3 id="ml-train-h">Train a model on stored files</h3>
    <p class="muted" id="ml-train-hint">The data sets are files already in the cluster (upload them in the Files view or with <code>minga put</code>).</p>
    <div class="fields">
      <div class="field"><label for="ml-name">Name</label>
        <input id="ml-name" type="text" value=${f.name} placeholder="fashion" onInput=${(e) => set('name')(e.target.value)} /></div>
      <div class="field"><label for="ml-format">Format</label>
        <select id="ml-format" value=${f.format} onChange=${(e) => set('format')(e.target.value)}>
          <option value="idx">IDX images + labels</option><option value="csv">CSV</option>
        </select></div>
      <${FileField} id="ml-train" label=${idx ? 'Training images' : 'Training CSV'} value=${f.train} onInput=${set('train')} required=${true}
        hint=${idx ? 'train-images-idx3-ubyte.gz' : 'ml/data/train.csv'} />
      ${idx && html`<${FileField} id="ml-train-labels" label="Training labels" value=${f.train_labels} onInput=${set('train_labels')} required=${true}
        hint="train-labels-idx1-ubyte.gz" />`}
      <${FileField} id="ml-test" label=${idx ? 'Test images (optional)' : 'Test CSV (optional)'} value=${f.test} onInput=${set('test')} />
      ${idx && html`<${FileField} id="ml-test-labels" label="Test labels" value=${f.test_labels} onInput=${set('test_labels')} required=${f.test.trim() !== ''} />`}
      ${!idx && html`<div class="field"><label for="ml-label-column">Label column (header name; empty: the last)</label>
        <input id="ml-label-column" type="text" value=${f.label_column} onInput=${(e) => set('label_column')(e.target.value)} /></div>`}
      <div class="field"><label for="ml-layers">Hidden layers (widths, e.g. 256,128)</label>
        <input id="ml-layers" type="text" class="short" value=${f.layers} onInput=${(e) => set('layers')(e.target.value)} /></div>
      <div class="field"><label for="ml-epochs">Epochs</label>
        <input id="ml-epochs" type="number" min="1" max="1000" required value=${f.epochs} onInput=${(e) => set('epochs')(e.target.value)} /></div>
      <div class="field"><label for="ml-batch">Batch</label>
        <input id="ml-batch" type="number" min="1" required value=${f.batch} onInput=${(e) => set('batch')(e.target.value)} /></div>
      <div class="field"><label for="ml-lr">Learning rate</label>
        <input id="ml-lr" type="number" min="0" step="any" required value=${f.lr} onInput=${(e) => set('lr')(e.target.value)} /></div>
      <div class="field"><label for="ml-optimizer">Optimizer</label>
        <select id="ml-optimizer" value=${f.optimizer} onChange=${(e) => set('optimizer')(e.target.value)}>
          <option value="adam">Adam</option><option value="sgd">SGD (momentum 0.9)</option>
        </select></div>
    </div>
    <div class="inline">
      <button type="submit" disabled=${busy} aria-describedby="ml-train-hint">Start training</button>
      <output aria-live="polite" data-testid="ml-note">${note}</output>
    </div>
    <datalist id="ml-files">${names.map((n) => html`<option key=${n} value=${n}></option>`)}</datalist>
  </form>`;
}

function JobRow({ job, selected, onSelect, onNote }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef(null);
  const st = stateOf(job);
  const last = lastEpoch(job);
  const ask = () => {
    setConfirming(true);
    setTimeout(() => yes.current && yes.current.focus(), 0);
  };
  const act = async (what) => {
    setBusy(true);
    try {
      if (what === 'cancel') {
        await api('POST', `/ml/jobs/${job.id}/cancel`);
        onNote(`cancelled model ${job.id}`);
      } else {
        const r = await api('DELETE', `/ml/models/${job.id}`);
        onNote(`removed model ${job.id} (log index ${r.index})`);
      }
    } catch (e) {
      onNote(`model ${job.id} not ${what === 'cancel' ? 'cancelled' : 'removed'}: ${e.message}`);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const who = `model ${job.id}${job.name ? ` (${job.name})` : ''}`;
  return html`<tr data-job=${job.id} data-state=${st} class=${selected ? 'selected' : ''}>
    <th scope="row">${job.id}</th>
    <td class="name">${job.name}</td>
    <td><span class=${'badge ml-' + st} data-testid="ml-state">${st}</span></td>
    <td class="num" data-testid="ml-epoch">${(job.epochs || []).length}/${job.hyper ? job.hyper.epochs : '?'}</td>
    <td class="num">${last ? last.loss.toFixed(4) : '–'}</td>
    <td class="num">${last ? pct(last.train_accuracy) : '–'}</td>
    <td class="num" data-testid="ml-test-accuracy">${last ? pct(last.test_accuracy) : '–'}</td>
    <td>${(job.architecture || []).join('-') || '–'}</td>
    <td>${(job.workers || []).join(', ')}</td>
    <td class="num">${Number(job.model_size) > 0 ? bytes(job.model_size) : '–'}</td>
    <td>${clock(Number(job.created_ms))}</td>
    <td><div class="actions">
      <button type="button" class="secondary" aria-pressed=${selected ? 'true' : 'false'} aria-label=${`Show the epochs of ${who}`}
        onClick=${() => onSelect(job.id)}>Epochs</button>
      ${!ended(job) && html`<button type="button" class="secondary" disabled=${busy} aria-label=${`Cancel ${who}`} onClick=${() => act('cancel')}>Cancel</button>`}
      ${ended(job) && (confirming
        ? html`<span role="group" aria-label=${`Confirm removing ${who}`}>
            <button type="button" class="danger" ref=${yes} disabled=${busy} onClick=${() => act('remove')}>Remove model ${job.id}?</button>
            <button type="button" class="secondary" onClick=${() => setConfirming(false)}>Keep</button>
          </span>`
        : html`<button type="button" class="secondary" aria-label=${`Remove ${who}`} onClick=${ask}>Remove</button>`)}
    </div></td>
  </tr>`;
}

function JobDetail({ job }) {
  const epochs = job.epochs || [];
  const x = epochs.map((e) => e.epoch);
  const hasTest = epochs.some((e) => e.test_accuracy >= 0);
  const loss = [x, epochs.map((e) => e.loss)];
  const acc = [x, epochs.map((e) => e.train_accuracy * 100), ...(hasTest ? [epochs.map((e) => (e.test_accuracy >= 0 ? e.test_accuracy * 100 : null))] : [])];
  const st = stateOf(job);
  return html`<section class="ml-detail" aria-labelledby="ml-detail-h" data-testid="ml-detail" data-job=${job.id}>
    <h3 id="ml-detail-h">Model ${job.id}${job.name ? `: ${job.name}` : ''} <span class=${'badge ml-' + st}>${st}</span></h3>
    <p class="muted">${[
      dataset(job),
      (job.architecture || []).join('-') || 'architecture known once the data are read',
      job.hyper ? `${job.hyper.optimizer}, lr ${job.hyper.learning_rate}, batch ${job.hyper.batch}` : '',
      job.resumes ? `resumed ${job.resumes}×` : '',
    ].filter(Boolean).join(' · ')}</p>
    ${job.error && html`<p class="error" role="alert">${job.error}</p>`}
    ${epochs.length === 0
      ? html`<p class="muted" data-testid="ml-no-epochs">No epoch finished yet${st === 'running' || st === 'queued' ? '; the charts fill as each one ends.' : '.'}</p>`
      : null}
    <div class="charts">
      <${Chart} title="Loss" xLabel="epoch" unit="loss" series=${['training loss']} data=${loss}
        label=${`Mean training loss of model ${job.id} per epoch`} />
      <${Chart} title="Accuracy" xLabel="epoch" unit="%" series=${hasTest ? ['train', 'test'] : ['train']} data=${acc}
        label=${`Train${hasTest ? ' and test' : ''} accuracy of model ${job.id} per epoch`} />
    </div>
    ${epochs.length > 0 && html`<div class="scroll" tabindex="0" role="region" aria-label="Epochs table, scrolls sideways">
      <table class="ml-epochs" data-testid="ml-epochs">
        <caption>Each epoch of model ${job.id}: loss, accuracy, time and averaging rounds</caption>
        <thead><tr><th scope="col" class="num">Epoch</th><th scope="col" class="num">Loss</th><th scope="col" class="num">Train</th>
          <th scope="col" class="num">Test</th><th scope="col" class="num">Seconds</th><th scope="col" class="num">Rounds</th></tr></thead>
        <tbody>${epochs.map((e) => html`<tr key=${e.epoch}><th scope="row" class="num">${e.epoch}</th><td class="num">${e.loss.toFixed(4)}</td>
          <td class="num">${pct(e.train_accuracy)}</td><td class="num">${pct(e.test_accuracy)}</td>
          <td class="num">${e.seconds.toFixed(2)}</td><td class="num">${e.rounds}</td></tr>`)}</tbody>
      </table></div>`}
  </section>`;
}

// Draws an image sample (values 0..1, rows × cols) on a canvas of its own
// pixels; CSS scales it up without smoothing.
function Picture({ sample, label }) {
  const canvas = useRef(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(sample.cols, sample.rows);
    sample.values.forEach((v, i) => {
      const g = Math.round(Math.max(0, Math.min(1, v)) * 255);
      img.data[4 * i] = g;
      img.data[4 * i + 1] = g;
      img.data[4 * i + 2] = g;
      img.data[4 * i + 3] = 255;
    });
    ctx.putImageData(img, 0, 0);
  }, [sample]);
  return html`<canvas ref=${canvas} class="sample" width=${sample.cols} height=${sample.rows} role="img" aria-label=${label} data-testid="ml-image"></canvas>`;
}

function Scores({ prediction, names }) {
  const top = prediction.class;
  return html`<ol class="scores" aria-label="Scores of every class" data-testid="ml-scores">
    ${prediction.scores.map((s, i) => html`<li key=${i} class=${i === top ? 'top' : ''}>
      <span class="cls">${names[i] || `class ${i}`}</span>
      <span class="bar" aria-hidden="true"><span style=${{ width: `${(s * 100).toFixed(1)}%` }}></span></span>
      <span class="num">${(s * 100).toFixed(1)} %</span>
    </li>`)}
  </ol>`;
}

function PredictPanel({ jobs }) {
  const ready = jobs.filter((j) => stateOf(j) === 'ready');
  const [modelId, setModelId] = useState('');
  const job = ready.find((j) => j.id === modelId) || ready[ready.length - 1];
  const [source, setSource] = useState({ for: '', file: '', labels: '' });
  const [index, setIndex] = useState('0');
  const [features, setFeatures] = useState('');
  const [sample, setSample] = useState(null);
  const [result, setResult] = useState(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  // The model's own test (or training) set is where the samples come from
  // until another file is named.
  useEffect(() => {
    if (!job || source.for === job.id) return;
    const d = job.data || {};
    const test = d.test && d.test.length > 0;
    setSource({ for: job.id, file: test ? d.test : d.train, labels: d.format === 'idx' ? (test ? d.test_labels : d.train_labels) : '' });
    setSample(null);
    setResult(null);
  }, [job && job.id]);
  if (!job) {
    return html`<section aria-labelledby="ml-predict-h"><h3 id="ml-predict-h">Try a prediction</h3>
      <p class="muted" data-testid="ml-predict-none">No model is ready yet.</p></section>`;
  }
  const idx = job.data && job.data.format === 'idx';
  const names = classNames(job);
  const predict = async (values, s) => {
    const r = await api('POST', `/ml/models/${job.id}/predict`, { rows: [{ values }] });
    const p = r.predictions[0];
    setResult({ p, node: r.node, label: s ? s.label : -1 });
  };
  const load = async (e, at = index) => {
    if (e) e.preventDefault();
    setBusy(true);
    setNote('');
    try {
      const q = new URLSearchParams({ index: String(Number(at) || 0) });
      if (idx) {
        q.set('images', source.file.trim());
        if (source.labels.trim()) q.set('labels', source.labels.trim());
      } else {
        q.set('csv', source.file.trim());
        if (job.data.label_column) q.set('label_column', job.data.label_column);
      }
      const s = await api('GET', `/ml/samples?${q}`);
      setSample(s);
      setFeatures(s.values.map((v) => String(Number(v.toFixed(6)))).join(','));
      await predict(s.values, s);
    } catch (err) {
      setResult(null);
      setNote(`no prediction: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  const typed = async (e) => {
    e.preventDefault();
    const parts = features.split(',').map((v) => v.trim());
    const bad = parts.findIndex((v) => v === '' || !Number.isFinite(Number(v)));
    if (bad >= 0) {
      setNote(`no prediction: feature ${bad + 1} is not a number: '${parts[bad]}'`);
      return;
    }
    setBusy(true);
    setNote('');
    setSample(null);
    try {
      await predict(parts.map(Number), null);
    } catch (err) {
      setResult(null);
      setNote(`no prediction: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  const count = sample ? Number(sample.count) : 0;
  // The previous or next sample, shown and predicted at once.
  const step = (d) => {
    const n = Math.max(0, (Number(index) || 0) + d);
    const at = String(count ? Math.min(n, count - 1) : n);
    setIndex(at);
    load(null, at);
  };
  return html`<section aria-labelledby="ml-predict-h" class="ml-predict">
    <h3 id="ml-predict-h">Try a prediction</h3>
    <form class="inline" aria-label="Choose a model" onSubmit=${(e) => e.preventDefault()}>
      <label for="ml-model">Model</label>
      <select id="ml-model" value=${job.id} onChange=${(e) => setModelId(e.target.value)}>
        ${ready.map((j) => html`<option key=${j.id} value=${j.id}>${j.id}${j.name ? ` ${j.name}` : ''} (${(j.architecture || []).join('-')})</option>`)}
      </select>
    </form>
    <form class="fields" aria-label=${idx ? 'Pick a stored image' : 'Pick a stored row'} onSubmit=${load}>
      <${FileField} id="ml-sample-file" label=${idx ? 'Images file' : 'CSV file'} value=${source.file} required=${true}
        onInput=${(v) => setSource({ ...source, file: v })} />
      ${idx && html`<${FileField} id="ml-sample-labels" label="Labels file (optional)" value=${source.labels}
        onInput=${(v) => setSource({ ...source, labels: v })} />`}
      <div class="field"><label for="ml-index">${idx ? 'Image' : 'Row'} number (from 0)</label>
        <span class="inline-tight">
          <button type="button" class="secondary" aria-label=${idx ? 'Previous image' : 'Previous row'} disabled=${busy} onClick=${() => step(-1)}>‹</button>
          <input id="ml-index" type="number" min="0" max=${count ? count - 1 : undefined} value=${index} onInput=${(e) => setIndex(e.target.value)} />
          <button type="button" class="secondary" aria-label=${idx ? 'Next image' : 'Next row'} disabled=${busy} onClick=${() => step(1)}>›</button>
        </span></div>
      <div class="field"><span class="label-space" aria-hidden="true"> </span>
        <button type="submit" disabled=${busy}>${idx ? 'Show and predict' : 'Load and predict'}</button></div>
    </form>
    ${!idx && html`<form class="inline" aria-label="Predict from typed features" onSubmit=${typed}>
      <label for="ml-features">Features (${job.architecture ? job.architecture[0] : '?'}, comma-separated)</label>
      <input id="ml-features" type="text" class="wide" value=${features} onInput=${(e) => setFeatures(e.target.value)} />
      <button type="submit" disabled=${busy}>Predict</button>
    </form>`}
    <output aria-live="polite" data-testid="ml-predict-note">${note}</output>
    <div class="ml-result">
      ${sample && sample.rows > 0 && sample.cols > 0 && html`<figure class="sample-box">
        <${Picture} sample=${sample} label=${`Image ${index} of ${source.file}, ${sample.rows} by ${sample.cols} pixels${sample.label >= 0 ? `, labelled ${names[sample.label] || sample.label}` : ''}`} />
        <figcaption>${sample.rows}×${sample.cols}, number ${index} of ${count}</figcaption>
      </figure>`}
      ${result && html`<div class="prediction" aria-live="polite">
        <p class="predicted">Predicted: <strong data-testid="ml-predicted">${names[result.p.class] || `class ${result.p.class}`}</strong>${' '}
          (${(result.p.scores[result.p.class] * 100).toFixed(1)} %, by ${result.node})</p>
        ${result.label >= 0 && html`<p data-testid="ml-truth">Label: <strong>${names[result.label] || result.label}</strong>
          ${result.label === result.p.class ? ' — right' : ' — wrong'}</p>`}
        <${Scores} prediction=${result.p} names=${names} />
      </div>`}
    </div>
  </section>`;
}

function MlView({ state }) {
  const [selected, setSelected] = useState(null);
  const [note, setNote] = useState('');
  const ml = state.ml;
  const jobs = ml && ml.jobs ? ml.jobs : [];
  const names = state.files && state.files.list ? state.files.list.files.map((f) => f.name) : [];
  const shown = jobs.find((j) => j.id === selected) || jobs[jobs.length - 1];
  const training = jobs.filter((j) => stateOf(j) === 'running').length;
  return html`<section aria-labelledby="ml-h">
    <h2 id="ml-h">Machine learning</h2>
    ${!ml ? html`<p class="muted">Waiting for the job table…</p>` : html`<dl class="summary" aria-label="Models of the cluster">
      <div><dt>Jobs</dt><dd data-testid="ml-jobs">${jobs.length}</dd></div>
      <div><dt>Ready models</dt><dd data-testid="ml-ready">${jobs.filter((j) => stateOf(j) === 'ready').length}</dd></div>
      <div><dt>Training</dt><dd>${training}</dd></div>
    </dl>`}
    <${TrainForm} names=${names} onStarted=${setSelected} />
    <h3 id="ml-jobs-h">Jobs and models</h3>
    <output aria-live="polite" data-testid="ml-job-note">${note}</output>
    ${jobs.length === 0 ? html`<p class="muted">No job yet.</p>` : html`<div class="scroll" tabindex="0" role="region" aria-label="Jobs table, scrolls sideways">
      <table class="files ml-jobs">
        <caption>Every training job; a ready job is a model that any node serves</caption>
        <thead><tr><th scope="col">ID</th><th scope="col">Name</th><th scope="col">State</th><th scope="col" class="num">Epoch</th>
          <th scope="col" class="num">Loss</th><th scope="col" class="num">Train</th><th scope="col" class="num">Test</th>
          <th scope="col">Architecture</th><th scope="col">Workers</th><th scope="col" class="num">Size</th><th scope="col">Created</th>
          <th scope="col">Actions</th></tr></thead>
        <tbody>${jobs.map((j) => html`<${JobRow} key=${j.id} job=${j} selected=${shown && shown.id === j.id} onSelect=${setSelected} onNote=${setNote} />`)}</tbody>
      </table></div>`}
    ${shown && html`<${JobDetail} job=${shown} />`}
    <${PredictPanel} jobs=${jobs} />
  </section>`;
}

export default { id: 'ml', title: 'ML', View: MlView };
