import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './html.js';

// Colours that read on the page's background and differ for colour-blind
// readers (Okabe-Ito).
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];

// A uPlot line chart. `data` is uPlot's [[x...], [y...], ...]; `series`
// names the y columns; x is time (seconds) unless `xLabel` names another
// axis. The chart follows its container's width.
export function Chart({ title, data, series, unit, label, xLabel }) {
  const box = useRef(null);
  const plot = useRef(null);
  const key = series.join('|');
  useEffect(() => {
    const width = () => Math.max(260, box.current.clientWidth);
    const opts = {
      width: width(),
      height: 220,
      title,
      series: [{}, ...series.map((name, i) => ({ label: name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true }))],
      axes: [xLabel ? { label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] } : {}, { label: unit, size: 60 }],
      scales: { x: { time: !xLabel } },
      legend: { live: false },
    };
    plot.current = new uPlot(opts, data, box.current);
    const ro = new ResizeObserver(() => plot.current && plot.current.setSize({ width: width(), height: 220 }));
    ro.observe(box.current);
    return () => {
      ro.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, [key, title, unit, xLabel]);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);
  return html`<figure class="chart" role="img" aria-label=${label} data-points=${data[0] ? data[0].length : 0}><div ref=${box}></div></figure>`;
}
