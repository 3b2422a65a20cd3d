// The dashboard in a real browser (Debian's chromium driven by
// playwright-core, which never downloads one) against a real 3-node cluster
// on 127.0.0.1 started here: every view renders with live data, a record
// added on one node's page shows on another's, a file uploaded from a page
// comes back byte for byte through `minga get` on another node, a model
// trained from a page predicts a Fashion-MNIST test image, a leader killed with -9
// shows on the cluster view within 2 s, and no request leaves for another
// origin. Screenshots of every view go to MINGA_SCREENSHOTS (docs/img).
//   MINGA_BINARY=build/release/minga node --test web/dashboard/test/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BINARY = process.env.MINGA_BINARY;
const SHOTS = process.env.MINGA_SCREENSHOTS || '';
const CHROMIUM = process.env.MINGA_CHROMIUM || '/usr/bin/chromium';
assert.ok(BINARY, 'MINGA_BINARY must name the minga binary');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ': ' + last.message : ''}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function json(url, init) {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const body = await r.json();
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

let dir;
const nodes = []; // {id, port, raft, monitor, proc, url}
let browser;
const foreign = []; // requests to an origin other than the page's

function startNode(n) {
  const peers = nodes.filter((m) => m.id !== n.id).map((m) => `${m.id}=127.0.0.1:${m.raft}`).join(',');
  const log = openSync(join(dir, `${n.id}.log`), 'a');
  n.proc = spawn(BINARY, ['node', '--id', n.id, '--host', '127.0.0.1', '--port', String(n.port), '--raft-port', String(n.raft),
    '--monitor-port', String(n.monitor), '--data-dir', join(dir, n.id), '--peers', peers], { stdio: ['ignore', log, log] });
}

async function leaderOf() {
  const views = await Promise.all(nodes.filter((n) => n.proc).map((n) => json(`${n.url}/api/v1/cluster`).catch(() => null)));
  const l = views.find((v) => v && v.role === 'leader');
  return l ? nodes.find((n) => n.id === l.id) : null;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'minga-dashboard-'));
  for (let i = 1; i <= 3; i++) {
    const n = { id: `n${i}`, port: await freePort(), raft: await freePort(), monitor: await freePort() };
    n.url = `http://127.0.0.1:${n.monitor}`;
    nodes.push(n);
  }
  for (const n of nodes) startNode(n);
  await until('a leader that every node knows', async () => {
    const views = await Promise.all(nodes.map((n) => json(`${n.url}/api/v1/cluster`)));
    return views.every((v) => v.leader && v.leader === views[0].leader && v.members.length === 3);
  }, 20000);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  if (browser) await browser.close();
  for (const n of nodes) {
    if (n.proc && n.proc.exitCode === null) {
      n.proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => n.proc.once('exit', r)), sleep(5000)]);
      if (n.proc.exitCode === null) n.proc.kill('SIGKILL');
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A page on `node`: every request is checked against its origin, and any
// console error (a CSP refusal would be one) fails the test.
async function open(node, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const origin = new URL(node.url).origin;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (!url.startsWith('blob:') && !url.startsWith('data:') && new URL(url).origin !== origin) {
      foreign.push(url);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(node.url + '/');
  await page.getByTestId('connection').filter({ hasText: `live from ${node.id}` }).waitFor({ timeout: 10000 });
  return page;
}

async function view(page, id) {
  await page.getByRole('tab', { name: new RegExp(`^${id}$`, 'i') }).click();
  await page.locator(`main[data-view="${id.toLowerCase()}"]`).waitFor();
}

// Every control of the shown view has a name a screen reader reads: a
// label, an aria-label or its own text; the selected tab names the panel.
async function assertLabelled(page) {
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, button, [tabindex="0"]')]
    .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  const tab = page.locator('[role=tab][aria-selected=true]');
  const panel = await tab.getAttribute('aria-controls');
  assert.equal(await page.locator(`#${panel}[role=tabpanel]`).getAttribute('aria-labelledby'), await tab.getAttribute('id'));
}

async function shot(page, name) {
  await assertLabelled(page);
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: false });
}

test('the cluster view lists every node with its role, term and health, the leader marked', async () => {
  const leader = await leaderOf();
  const page = await open(nodes[0]);
  await view(page, 'Cluster');
  for (const n of nodes) {
    const row = page.locator(`tr[data-node="${n.id}"]`);
    await row.waitFor();
    await until(`${n.id} healthy`, async () => (await row.textContent()).includes('ok'), 5000);
    assert.match(await row.getAttribute('data-role'), n.id === leader.id ? /^leader$/ : /^follower$/);
    assert.match(await row.textContent(), /voter/);
  }
  assert.equal(await page.getByTestId('leader').textContent(), leader.id);
  assert.equal(await page.getByTestId('can-lose').textContent(), '1 more voter');
  assert.match(await page.locator(`tr[data-node="${leader.id}"] th`).textContent(), /★.*\(leader\)/);
  // The tabs answer the keyboard: right arrow selects the next view.
  await page.getByRole('tab', { name: 'Cluster' }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getByRole('tab', { name: 'Raft' }).getAttribute('aria-selected'), 'true');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.getByRole('tab', { name: 'Cluster' }).getAttribute('aria-selected'), 'true');
  await shot(page, 'cluster');
  // Narrow screen: the page fits without a horizontal scroll of the body.
  await page.setViewportSize({ width: 380, height: 800 });
  await sleep(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the body scrolls sideways by ${overflow} px on a 380 px screen`);
  await shot(page, 'narrow');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the raft view shows every node\'s log indexes moving and the leadership timeline', async () => {
  const page = await open(nodes[1]);
  await view(page, 'Raft');
  await page.locator('.raft-node').nth(2).waitFor();
  assert.equal(await page.locator('.raft-node').count(), 3);
  await until('a leadership entry', async () => /leads in term \d+/.test(await page.getByTestId('timeline').textContent()), 5000);
  const commitOf = async () => Number((await page.locator('.raft-node .indexes').first().textContent()).match(/commit (\d+)/)[1]);
  const before = await commitOf();
  for (let i = 0; i < 3; i++) await json(`${nodes[1].url}/api/v1/records`, { method: 'POST', body: JSON.stringify({ text: b64(`raft ${i}`) }) });
  await until('the commit index to move on the page', async () => (await commitOf()) >= before + 3, 5000);
  await until('a heartbeat shown', async () => /heartbeat \d+ ms ago/.test(await page.locator('.raft-nodes').textContent()), 5000);
  assert.ok(await page.locator('.uplot canvas').count() >= 1);
  await sleep(1500); // a few points on the chart
  await shot(page, 'raft');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the tasks view charts throughput and latency and lists the workers', async () => {
  const page = await open(nodes[0]);
  await view(page, 'Tasks');
  await page.getByLabel('Count').fill('200');
  await page.getByRole('button', { name: 'Run tasks' }).click();
  await until('200 tasks answered', async () => /^200 answered, 0 failed/.test(await page.getByTestId('task-note').textContent()), 30000);
  await page.locator('tr[data-worker]').first().waitFor();
  // The coordinator's table counts the answers its worker gave.
  await until('200 done on the worker table', async () => {
    const done = await page.getByTestId('worker-done').allTextContents();
    return done.map(Number).reduce((a, b) => a + b, 0) >= 200;
  }, 5000);
  // The charts' data: the leader spreads the tasks over the members, so
  // the 200 are counted across the nodes' metrics.
  await until('200 tasks counted across the nodes', async () => {
    let total = 0;
    for (const n of nodes) {
      const rates = await (await fetch(`${n.url}/metrics`)).text();
      total += Number(/minga_tasks_total\{[^}]*kind="uppercase"[^}]*result="ok"[^}]*\} (\d+)/.exec(rates)?.[1] ?? 0);
    }
    return total >= 200;
  }, 5000);
  assert.equal(await page.locator('.uplot').count(), 2);
  const legend = await page.locator('.uplot .u-legend').first().textContent();
  assert.match(legend, /n1/);
  await sleep(1200);
  await shot(page, 'tasks');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a record added on one node\'s page shows on another node\'s page', async () => {
  const writer = await open(nodes[0]);
  const reader = await open(nodes[2]);
  await view(writer, 'Records');
  await view(reader, 'Records');
  const text = `hello from n1's page ${Date.now()}`;
  await writer.getByLabel('Record text').fill(text);
  await writer.getByRole('button', { name: 'Add record' }).click();
  await until('the answer', async () => /stored at index \d+/.test(await writer.getByTestId('record-note').textContent()), 10000);
  await reader.getByTestId('records').getByText(text).waitFor({ timeout: 5000 });
  await writer.getByTestId('records').getByText(text).waitFor({ timeout: 5000 });
  await shot(reader, 'records');
  assert.deepEqual(writer.errors, []);
  assert.deepEqual(reader.errors, []);
  await writer.context().close();
  await reader.context().close();
});

test('the lottery view shows agencies, the draw and the winners of each agency', async () => {
  const page = await open(nodes[1]);
  await view(page, 'Lottery');
  const status = await json(`${nodes[0].url}/api/v1/lottery`);
  const win = status.winning_number;
  for (let agency = 1; agency <= status.expected_agencies; agency++) {
    const bets = [
      { first_name: b64('Ana'), last_name: b64('Paz'), document: b64(`${30000000 + agency}`), birth_date: b64('1999-03-17'), number: win },
      { first_name: b64('Luis'), last_name: b64('Gil'), document: b64(`${40000000 + agency}`), birth_date: b64('1990-01-02'), number: (win + 1) % 10000 },
    ];
    const r = await json(`${nodes[agency % 3].url}/api/v1/lottery/agencies/${agency}/bets`, { method: 'POST', body: JSON.stringify({ sequence: '1', bets }) });
    assert.equal(r.outcome, 'OK');
    if (agency === 1) await page.locator('tr[data-agency="1"]').waitFor({ timeout: 5000 });
  }
  await shot(page, 'lottery-progress');
  for (let agency = 1; agency <= status.expected_agencies; agency++) {
    await json(`${nodes[0].url}/api/v1/lottery/agencies/${agency}/finished`, { method: 'POST' });
  }
  await until('the draw on the page', async () => /^done: number \d+$/.test(await page.getByTestId('draw').textContent()), 10000);
  await until('the winners of agency 3', async () => (await page.locator('tr[data-agency="3"] .docs').textContent()) === '30000003', 5000);
  assert.equal(await page.getByTestId('total-bets').textContent(), String(2 * status.expected_agencies));
  await shot(page, 'lottery');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the logs view merges every node, filters by node, level and text, follows and downloads', async () => {
  const page = await open(nodes[0]);
  await view(page, 'Logs');
  const logs = page.getByTestId('logs');
  for (const n of nodes) await logs.locator('.nd', { hasText: `[${n.id}]` }).first().waitFor({ timeout: 5000 });
  await page.getByTestId('log-node').selectOption('n2');
  const shownNodes = await logs.locator('.nd').allTextContents();
  assert.ok(shownNodes.length > 0);
  assert.deepEqual([...new Set(shownNodes)], ['[n2]']);
  await page.getByTestId('log-node').selectOption('');
  await page.getByTestId('log-text').fill('raft_start');
  await until('three raft_start lines', async () => (await logs.locator('.ll').count()) === 3, 3000);
  for (const t of await logs.locator('.ll').allTextContents()) assert.match(t, /action: raft_start/);
  await page.getByTestId('log-text').fill('');
  await page.getByTestId('log-level').selectOption('warning');
  for (const t of await logs.locator('.lv').allTextContents()) assert.match(t, /warn|error|critical/);
  await page.getByTestId('log-level').selectOption('');
  // A new line on n3 arrives while following.
  await json(`${nodes[2].url}/api/v1/records`, { method: 'POST', body: JSON.stringify({ text: b64('log me') }) });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
  const saved = join(dir, 'logs.txt');
  await download.saveAs(saved);
  const text = readFileSync(saved, 'utf8');
  for (const n of nodes) assert.match(text, new RegExp(`\\[${n.id}\\] action: node_start \\| result: success`));
  await shot(page, 'logs');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// `minga ARGS` against `node`'s client port; stdout as bytes.
function minga(node, args, input) {
  const r = spawnSync(BINARY, ['--server', `127.0.0.1:${node.port}`, ...args], { input, maxBuffer: 64 << 20, timeout: 20000 });
  return { status: r.status, out: r.stdout, err: String(r.stderr) };
}

test('the files view lists, uploads by picker and by drop, downloads and deletes; an upload comes back through minga get', async () => {
  // Files put from the command line on n3 show on n1's page, live.
  for (const [name, text] of [['docs/readme.md', '# minga\n'], ['docs/señal ü.txt', 'ñandú\n'], ['data/points.csv', 'x,y\n1,2\n']]) {
    const put = minga(nodes[2], ['put', '-', '--name', name], Buffer.from(text, 'utf8'));
    assert.equal(put.status, 0, put.err);
  }
  const page = await open(nodes[0]);
  await view(page, 'Files');
  await page.locator('tr[data-file="docs/señal ü.txt"]').waitFor({ timeout: 5000 });
  await until('the files section of /status', async () => (await page.getByTestId('files-status').locator('[data-key="count"]').textContent()) === '3', 5000);

  // Every byte value, through the file picker, into a folder.
  const content = Buffer.alloc(300 * 1024 + 17);
  for (let i = 0; i < content.length; i++) content[i] = i < 256 ? i : (i * 7919 + (i >> 8)) & 0xff;
  await page.getByLabel('Folder (optional)').fill('page');
  await page.getByLabel('Files to upload').setInputFiles({ name: 'every byte.bin', mimeType: 'application/octet-stream', buffer: content });
  const note = await until('the upload answered', async () => {
    const t = await page.getByTestId('file-note').textContent();
    return /^(stored|not stored)/.test(t) && t;
  }, 15000);
  assert.match(note, /^stored page\/every byte\.bin \(300 KiB, on n\d, n\d, n\d\)$/);
  const row = page.locator('tr[data-file="page/every byte.bin"]');
  await row.waitFor({ timeout: 5000 });
  assert.deepEqual((await row.getByTestId('replicas').textContent()).split(', ').sort(), ['n1', 'n2', 'n3']);
  // Byte for byte through `minga get` on another node.
  const got = minga(nodes[1], ['get', 'page/every byte.bin']);
  assert.equal(got.status, 0, got.err);
  assert.ok(Buffer.compare(got.out, content) === 0, `minga get gave ${got.out.length} bytes, not the ${content.length} uploaded`);

  // A drop on the upload zone (a synthetic one: what a drag from the desktop delivers).
  await page.getByTestId('drop-zone').evaluate((zone) => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped ñ\n'], 'dropped.txt', { type: 'text/plain' }));
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.locator('tr[data-file="page/dropped.txt"]').waitFor({ timeout: 5000 });
  assert.equal(String(minga(nodes[2], ['get', 'page/dropped.txt']).out), 'dropped ñ\n');

  // Download from the page: the same bytes.
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'Download page/every byte.bin' }).click()]);
  assert.equal(download.suggestedFilename(), 'every byte.bin');
  const saved = join(dir, 'downloaded.bin');
  await download.saveAs(saved);
  assert.ok(Buffer.compare(readFileSync(saved), content) === 0, 'the downloaded bytes differ');

  // The prefix filter.
  await page.getByLabel('Names starting with').fill('docs/');
  await until('only docs/ shown', async () => (await page.locator('tr[data-file]').count()) === 2, 3000);
  assert.match(await page.getByTestId('file-count').textContent(), /^2 of 5 files shown/);
  await page.getByLabel('Names starting with').fill('');
  await page.locator('tr[data-file]').nth(4).waitFor();
  await page.getByLabel('Folder (optional)').fill('');
  await shot(page, 'files');
  // Narrow screen: the table scrolls in its box, the body does not.
  await page.setViewportSize({ width: 380, height: 800 });
  await sleep(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the files view scrolls sideways by ${overflow} px on a 380 px screen`);
  await page.setViewportSize({ width: 1280, height: 860 });

  // Delete, confirmed: gone from the page and from the cluster.
  const dropped = page.locator('tr[data-file="page/dropped.txt"]');
  await dropped.getByRole('button', { name: 'Delete page/dropped.txt' }).click();
  const confirm = dropped.getByRole('button', { name: 'Delete dropped.txt?' });
  // The view focuses it in a task after the render that shows it.
  await until('the confirmation has the focus', () => confirm.evaluate((el) => el === document.activeElement), 2000);
  await dropped.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.locator('tr[data-file="page/dropped.txt"]').count(), 1);
  await dropped.getByRole('button', { name: 'Delete page/dropped.txt' }).click();
  await dropped.getByRole('button', { name: 'Delete dropped.txt?' }).click();
  await until('the deleted row gone', async () => (await page.locator('tr[data-file="page/dropped.txt"]').count()) === 0, 5000);
  assert.match(await page.getByTestId('file-note').textContent(), /^deleted page\/dropped\.txt \(log index \d+\)$/);
  const gone = minga(nodes[1], ['get', 'page/dropped.txt']);
  assert.notEqual(gone.status, 0);
  assert.match(gone.err, /no file page\/dropped\.txt/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const FASHION_DIR = process.env.MINGA_FASHION_MNIST || '/usr/share/datasets/fashion-mnist';

test('the ml view trains a model from the page, charts its epochs live, predicts a test image; another node lists it', async () => {
  // Fashion-MNIST's test set (10 000 images) into the files from the command line.
  const images = 'fashion/t10k-images-idx3-ubyte.gz';
  const labels = 'fashion/t10k-labels-idx1-ubyte.gz';
  for (const name of [images, labels]) {
    const put = minga(nodes[2], ['put', join(FASHION_DIR, name.slice('fashion/'.length)), '--name', name]);
    assert.equal(put.status, 0, put.err);
  }
  const page = await open(nodes[0]);
  await view(page, 'ML');
  // The form's list holds both files once the catalogue it reads has them
  // (files put in earlier tests may be listed before).
  await until('the files in the form\'s list', async () =>
    (await page.locator(`#ml-files option[value="${images}"]`).count()) === 1 &&
    (await page.locator(`#ml-files option[value="${labels}"]`).count()) === 1, 5000);
  await page.getByLabel('Name', { exact: true }).fill('fashion');
  await page.getByLabel('Training images').fill(images);
  // The labels that go with the images are filled in from the catalogue.
  assert.equal(await page.getByLabel('Training labels').inputValue(), labels);
  await page.getByLabel('Test images (optional)').fill(images);
  assert.equal(await page.getByLabel('Test labels').inputValue(), labels);
  await page.getByLabel('Hidden layers').fill('32');
  await page.getByLabel('Epochs').fill('3');
  await page.getByRole('button', { name: 'Start training' }).click();
  const started = await until('the job started', async () => /^started model (\d+) \(queued\)$/.exec(await page.getByTestId('ml-note').textContent()), 10000);
  const id = started[1];
  const row = page.locator(`tr[data-job="${id}"]`);
  await row.waitFor({ timeout: 5000 });
  // The charts fill epoch by epoch while it trains: the points seen only grow, to 3.
  const seen = [];
  await until('the job ready', async () => {
    seen.push(Number(await page.getByTestId('ml-detail').locator('figure.chart').first().getAttribute('data-points')));
    return (await row.getAttribute('data-state')) === 'ready';
  }, 60000);
  await until('3 points on both charts', async () => {
    const points = await page.getByTestId('ml-detail').locator('figure.chart').evaluateAll((fs) => fs.map((f) => f.dataset.points));
    return points.join() === '3,3';
  }, 3000);
  seen.push(3);
  assert.deepEqual([...seen].sort((a, b) => a - b), seen, `points seen ${seen}`);
  assert.equal(await page.locator('.ml-detail .uplot').count(), 2);
  assert.equal(await row.getByTestId('ml-epoch').textContent(), '3/3');
  // The page's numbers are the job's, as another node answers them.
  const { job } = await json(`${nodes[1].url}/api/v1/ml/jobs/${id}`);
  assert.equal(job.state, 'ML_READY');
  assert.deepEqual(job.architecture, [784, 32, 10]);
  const epochRows = await page.getByTestId('ml-epochs').locator('tbody tr').allTextContents();
  assert.equal(epochRows.length, 3);
  for (let i = 0; i < 3; i++) assert.ok(epochRows[i].includes(job.epochs[i].loss.toFixed(4)), `${epochRows[i]} lacks ${job.epochs[i].loss}`);
  assert.equal(await row.getByTestId('ml-test-accuracy').textContent(), `${(job.epochs[2].test_accuracy * 100).toFixed(2)} %`);

  // A test image by number, from the keyboard: drawn, predicted, scored.
  assert.equal(await page.getByLabel('Images file').inputValue(), images);
  await page.getByLabel('Image number (from 0)').fill('0');
  await page.getByLabel('Image number (from 0)').press('Enter');
  await page.getByTestId('ml-predicted').waitFor({ timeout: 10000 });
  const sample = await json(`${nodes[2].url}/api/v1/ml/samples?images=${encodeURIComponent(images)}&labels=${encodeURIComponent(labels)}&index=0`);
  assert.equal(sample.label, 9);
  const want = (await json(`${nodes[2].url}/api/v1/ml/models/${id}/predict`, { method: 'POST', body: JSON.stringify({ rows: [{ values: sample.values }] }) })).predictions[0];
  assert.equal(await page.getByTestId('ml-predicted').textContent(), FASHION[want.class]);
  assert.match(await page.getByTestId('ml-truth').textContent(), /^Label: Ankle boot — (right|wrong)$/);
  const scores = await page.getByTestId('ml-scores').locator('li').allTextContents();
  assert.equal(scores.length, 10);
  for (let i = 0; i < 10; i++) assert.equal(scores[i], `${FASHION[i]}${(want.scores[i] * 100).toFixed(1)} %`);
  // The canvas holds the image's own pixels.
  const drawn = await page.getByTestId('ml-image').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const g = [];
    for (let i = 0; i < d.length; i += 4) g.push(d[i]);
    return { w: c.width, h: c.height, g };
  });
  assert.deepEqual([drawn.w, drawn.h], [28, 28]);
  assert.deepEqual(drawn.g, sample.values.map((v) => Math.round(v * 255)));
  // The next image: number 1 of the test set is a pullover.
  await page.getByRole('button', { name: 'Next image' }).click();
  await until('image 1 predicted', async () => /^Label: Pullover/.test(await page.getByTestId('ml-truth').textContent()), 10000);
  assert.equal(await page.getByLabel('Image number (from 0)').inputValue(), '1');
  // The whole view in the screenshot: form, jobs, charts and prediction.
  const tall = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.min(tall, 2200) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await sleep(300);
  await shot(page, 'ml');
  // Narrow screen: the page still fits.
  await page.setViewportSize({ width: 380, height: 800 });
  await sleep(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the ml view scrolls sideways by ${overflow} px on a 380 px screen`);
  await page.setViewportSize({ width: 1280, height: 860 });

  // The same model on another node's page; a second job cancelled there, then removed after a confirmation.
  const other = await open(nodes[2]);
  await view(other, 'ML');
  await until('the model ready on n3\'s page', async () => (await other.locator(`tr[data-job="${id}"]`).getAttribute('data-state')) === 'ready', 5000);
  const long = await json(`${nodes[0].url}/api/v1/ml/models`, { method: 'POST', body: JSON.stringify({
    name: 'long', data: { format: 'idx', train: images, train_labels: labels }, hyper: { hidden: [8], epochs: 1000 } }) });
  const lrow = other.locator(`tr[data-job="${long.job.id}"]`);
  await lrow.getByRole('button', { name: `Cancel model ${long.job.id} (long)` }).click();
  await until('the job cancelled', async () => (await lrow.getAttribute('data-state')) === 'cancelled', 10000);
  await lrow.getByRole('button', { name: `Remove model ${long.job.id} (long)` }).click();
  const confirm = lrow.getByRole('button', { name: `Remove model ${long.job.id}?` });
  // The view focuses it in a task after the render that shows it.
  await until('the confirmation has the focus', () => confirm.evaluate((el) => el === document.activeElement), 2000);
  await confirm.click();
  await until('the removed row gone', async () => (await other.locator(`tr[data-job="${long.job.id}"]`).count()) === 0, 5000);
  assert.match(await other.getByTestId('ml-job-note').textContent(), new RegExp(`^removed model ${long.job.id} \\(log index \\d+\\)$`));
  const gone = await fetch(`${nodes[1].url}/api/v1/ml/models/${long.job.id}`);
  assert.equal(gone.status, 404);
  assert.equal(await page.locator(`tr[data-job="${id}"]`).count(), 1);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(other.errors, []);
  await page.context().close();
  await other.context().close();
});

test('a leader killed with -9 shows on a follower\'s cluster view within 2 s, then the new leader', async () => {
  const leader = await leaderOf();
  const follower = nodes.find((n) => n.id !== leader.id);
  const page = await open(follower);
  await view(page, 'Cluster');
  const row = page.locator(`tr[data-node="${leader.id}"]`);
  await until('the leader row', async () => (await row.getAttribute('data-role')) === 'leader', 5000);
  const killed = Date.now();
  leader.proc.kill('SIGKILL');
  await page.waitForFunction((id) => {
    const r = document.querySelector(`tr[data-node="${id}"]`);
    return r && r.dataset.role === 'unreachable' && r.textContent.includes('down');
  }, leader.id, { timeout: 2000, polling: 20 });
  const seen = Date.now() - killed;
  console.log(`# the killed leader ${leader.id} showed as down after ${seen} ms`);
  assert.ok(seen < 2000, `${seen} ms`);
  leader.proc = null;
  await until('no voter left to lose', async () => (await page.getByTestId('can-lose').textContent()) === '0 more voters', 3000);
  // A new leader among the two left, on the page and on the timeline.
  await until('a new leader on the page', async () => {
    const l = await page.getByTestId('leader').textContent();
    return l !== leader.id && nodes.some((n) => n.id === l);
  }, 10000);
  await shot(page, 'cluster-after-kill');
  await view(page, 'Raft');
  await until('the change on the timeline', async () => /does not answer/.test(await page.getByTestId('timeline').textContent()), 3000);
  await shot(page, 'raft-after-kill');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('no page asked another origin for anything', () => {
  assert.deepEqual(foreign, []);
});
