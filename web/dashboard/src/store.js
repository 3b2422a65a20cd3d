// The page's one connection: the Server-Sent Events stream /api/v1/events
// of the node that served it. Every event is a JSON object with a "type";
// the state below is rebuilt from them, and views read it.

const MAX_LOG_LINES = 2000;
const MAX_RECORDS = 500;
const MAX_POINTS = 240;
const MAX_HISTORY = 240;

export const initialState = {
  connected: false,
  node: '',
  cluster: null,
  indexHistory: [],  // [{t, nodes: {id: {commit, applied, last}}}] from cluster events
  points: [],        // metrics points: {t, rate: {id: n}, mean_ms: {...}, p95_ms: {...}}
  timeline: [],      // Raft entries, oldest first
  records: [],
  workers: null,
  lottery: null,
  files: null,       // {list: GET /api/v1/files answer, status: /status's files section or null}
  ml: null,          // the GET /api/v1/ml/jobs answer: {jobs: [...]}
  logs: [],
  events: 0,
};

function tail(list, n) {
  return list.length > n ? list.slice(list.length - n) : list;
}

export function reduce(state, e) {
  const s = { ...state, events: state.events + 1 };
  switch (e.type) {
    case 'hello':
      s.node = e.node;
      s.connected = true;
      break;
    case 'cluster': {
      // A node that stops answering keeps its last known term and indexes,
      // marked stale, so the Raft view shows where it stopped.
      const before = {};
      for (const n of state.cluster ? state.cluster.nodes : []) before[n.id] = n;
      const nodes0 = e.nodes.map((n) => {
        const b = before[n.id];
        if (n.reachable || !b || !(b.reachable || b.stale)) return n;
        return { ...n, term: b.term, commit: b.commit, applied: b.applied, last: b.last, snapshot: b.snapshot, stale: true };
      });
      s.cluster = { ...e, nodes: nodes0 };
      const nodes = {};
      for (const n of e.nodes) nodes[n.id] = { commit: n.commit, applied: n.applied, last: n.last, reachable: n.reachable };
      s.indexHistory = tail([...state.indexHistory, { t: e.t, nodes }], MAX_HISTORY);
      break;
    }
    case 'metrics':
      s.points = tail(e.reset ? e.points : [...state.points, ...e.points], MAX_POINTS);
      break;
    case 'raft':
      s.timeline = tail(e.reset ? e.entries : [...state.timeline, ...e.entries], 500);
      break;
    case 'records':
      s.records = tail(e.reset ? e.records : [...state.records, ...e.records], MAX_RECORDS);
      break;
    case 'workers':
      s.workers = e.workers;
      break;
    case 'lottery':
      s.lottery = e.lottery;
      break;
    case 'files':
      s.files = e.files;
      break;
    case 'ml':
      s.ml = e.ml;
      break;
    case 'logs':
      s.logs = tail(e.reset ? e.lines : [...state.logs, ...e.lines], MAX_LOG_LINES);
      break;
    default:
      break;
  }
  return s;
}

// Connects and calls `onState` with each new state, at most once a frame.
export function connect(onState, path = '/api/v1/events') {
  let state = initialState;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    onState(state);
  };
  const source = new EventSource(path);
  source.onmessage = (msg) => {
    let e;
    try {
      e = JSON.parse(msg.data);
    } catch {
      return;
    }
    state = reduce(state, e);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  };
  source.onerror = () => {
    // EventSource reconnects by itself; the snapshot comes again then.
    state = { ...state, connected: false };
    onState(state);
  };
  return () => source.close();
}

// Writes go to this same origin's JSON API (docs/api.md).
export async function api(method, path, body) {
  const r = await fetch('/api/v1' + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  if (!r.ok) {
    const message = json && json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${r.status}`;
    throw new Error(message);
  }
  return json;
}

export function base64(text) {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function clock(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}
