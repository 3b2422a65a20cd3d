// The dashboard's views, in tab order. A view is one module exporting
// { id, title, View }; adding one is adding it here.
import cluster from './cluster.js';
import raft from './raft.js';
import tasks from './tasks.js';
import records from './records.js';
import files from './files.js';
import ml from './ml.js';
import lottery from './lottery.js';
import logs from './logs.js';

export const views = [cluster, raft, tasks, records, files, ml, lottery, logs];
