import type { ChartAssets } from './assets.ts';
import { esc, inlineScript, scriptJson } from './html.ts';

/**
 * The parts of a page that draws `data`'s charts: uPlot's CSS for the head, one card per chart, and
 * the scripts (uPlot inlined, the data, the chart script) for the end of the body.
 */
export function chartParts(
  data: { charts: readonly { id: string; title: string }[] },
  assets: ChartAssets,
): { css: string; sections: string; scripts: string } {
  return {
    css: `<style>${assets.css}</style><style>.chart{width:100%;min-height:230px}</style>`,
    sections: data.charts
      .map(
        (c) =>
          `<section class="card"><h3>${esc(c.title)}</h3><div class="chart" id="chart-${esc(c.id)}"></div></section>`,
      )
      .join('\n'),
    scripts: `<script>${inlineScript(assets.js)}</script>
<script type="application/json" id="chart-data">${scriptJson(data)}</script>
<script>${inlineScript(chartScript)}</script>`,
  };
}

/**
 * Browser-side code of the reports: draws every chart described in `<script id="chart-data">` with uPlot
 * (inlined beside it), shades fault windows in each node's colour with a labelled lane per node, and draws
 * markers (heal, convergence). Sets `document.body.dataset.charts` to the number drawn when done.
 */
export const chartScript = `
(function () {
  var data = JSON.parse(document.getElementById('chart-data').textContent);
  var palette = data.palette;
  function nodeColor(node, alpha) {
    var i = data.nodes.indexOf(node);
    var hex = i < 0 ? '#111827' : palette[i % palette.length];
    if (alpha === undefined) return hex;
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')';
  }
  function fmt(v) {
    if (v == null || !isFinite(v)) return '–';
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }
  // Rows of the fault bars come with the data (chart-data.ts assignLanes): overlapping faults never share one.
  var rows = data.lanes || 0;
  var rowOf = {};
  data.faults.forEach(function (f) { rowOf[f.id] = f.lane || 0; });
  var laneCss = 13;
  function faultsPlugin(faults) {
    function x(u, v) { return u.valToPos(v, 'x', true); }
    return {
      hooks: {
        drawClear: [function (u) {
          // Light shading per window plus dashed edges in the node's colour: where windows overlap, each
          // one's start and end stay visible instead of blending into one muddy block.
          var ctx = u.ctx, b = u.bbox, pr = uPlot.pxRatio;
          ctx.save();
          faults.forEach(function (f) {
            var x0 = Math.max(b.left, x(u, f.start)), x1 = Math.min(b.left + b.width, x(u, f.end));
            if (x1 <= x0) return;
            ctx.fillStyle = nodeColor(f.node, 0.06);
            ctx.fillRect(x0, b.top, x1 - x0, b.height);
          });
          ctx.setLineDash([3 * pr, 3 * pr]);
          ctx.lineWidth = pr;
          faults.forEach(function (f) {
            ctx.strokeStyle = nodeColor(f.node, 0.55);
            [f.start, f.end].forEach(function (v) {
              var px = x(u, v);
              if (px < b.left || px > b.left + b.width) return;
              ctx.beginPath(); ctx.moveTo(px, b.top); ctx.lineTo(px, b.top + b.height); ctx.stroke();
            });
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx, b = u.bbox, pr = uPlot.pxRatio, h = laneCss * pr;
          ctx.save();
          ctx.font = (10 * pr) + 'px system-ui, sans-serif';
          ctx.textBaseline = 'middle';
          ctx.textAlign = 'left';
          var bars = faults.map(function (f) {
            var x0 = Math.max(b.left, x(u, f.start)), x1 = Math.min(b.left + b.width, x(u, f.end));
            if (x1 <= x0) x1 = x0 + 2 * pr;
            return { f: f, x0: x0, x1: x1, y: b.top - (rows - rowOf[f.id]) * (h + pr) - 2 * pr };
          });
          bars.forEach(function (bar) {
            ctx.fillStyle = nodeColor(bar.f.node, 0.75);
            ctx.fillRect(bar.x0, bar.y, bar.x1 - bar.x0, h);
          });
          bars.forEach(function (bar) {
            var f = bar.f;
            // Longest label that fits inside the bar, else right of it up to the next bar of its row.
            var labels = [f.node + ' ' + f.kind + ' (' + f.id + ')', f.kind + ' (' + f.id + ')', f.kind, f.id];
            var inside = labels.find(function (l) { return ctx.measureText(l).width + 6 * pr < bar.x1 - bar.x0; });
            if (inside) {
              ctx.fillStyle = '#fff';
              ctx.fillText(inside, bar.x0 + 3 * pr, bar.y + h / 2);
              return;
            }
            var limit = b.left + b.width + 60 * pr;
            bars.forEach(function (o) {
              if (o !== bar && rowOf[o.f.id] === rowOf[f.id] && o.x0 >= bar.x1 && o.x0 < limit) limit = o.x0;
            });
            var outside = labels.find(function (l) { return bar.x1 + 3 * pr + ctx.measureText(l).width + 3 * pr <= limit; });
            if (!outside) return;
            ctx.fillStyle = nodeColor(f.node);
            ctx.fillText(outside, bar.x1 + 3 * pr, bar.y + h / 2);
          });
          ctx.restore();
        }],
      },
    };
  }
  function markersPlugin(markers) {
    return {
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx, b = u.bbox, pr = uPlot.pxRatio;
          ctx.save();
          ctx.strokeStyle = '#111827';
          ctx.fillStyle = '#111827';
          ctx.setLineDash([5 * pr, 4 * pr]);
          ctx.lineWidth = pr;
          ctx.font = (11 * pr) + 'px system-ui, sans-serif';
          ctx.textAlign = 'left';
          ctx.textBaseline = 'alphabetic';
          markers.forEach(function (m, i) {
            var px = u.valToPos(m.x, 'x', true);
            if (px < b.left || px > b.left + b.width) return;
            ctx.beginPath(); ctx.moveTo(px, b.top); ctx.lineTo(px, b.top + b.height); ctx.stroke();
            ctx.fillText(m.label, px + 4 * pr, b.top + (14 + 14 * i) * pr);
          });
          ctx.restore();
        }],
      },
    };
  }
  var drawn = 0, plots = [];
  data.charts.forEach(function (c) {
    var el = document.getElementById('chart-' + c.id);
    if (!el || c.x.length === 0) return;
    var width = Math.max(320, el.clientWidth || 960);
    var series = [{ label: c.xFormat === 'index' ? '' : 'time', value: function (u, v) { return v == null ? '–' : (c.xFormat === 'index' ? (c.xNames[v] || v) : v.toFixed(1) + ' s'); } }];
    c.lines.forEach(function (l, i) {
      var color = l.color || (l.node ? nodeColor(l.node) : ['#111827', '#dc2626', '#6b7280'][i % 3]);
      var s = {
        label: l.label, stroke: color, width: l.node ? 1.5 : 2, spanGaps: true,
        points: { show: c.x.length < 40 },
        value: function (u, v) { return v == null ? '–' : fmt(v) + ' ' + c.unit; },
      };
      if (l.dots) {
        s.paths = function () { return null; };
        s.points = { show: true, size: 11, fill: color, stroke: color };
      }
      series.push(s);
    });
    var plugins = [];
    if (c.faults && data.faults.length) plugins.push(faultsPlugin(data.faults));
    if (c.markers && c.markers.length) plugins.push(markersPlugin(c.markers));
    var xAxis = { label: c.xFormat === 'index' ? '' : 'seconds since load start' };
    if (c.xFormat === 'index') {
      xAxis.values = function (u, vals) { return vals.map(function (v) { return Number.isInteger(v) ? (c.xNames[v] || '') : ''; }); };
      xAxis.splits = function () { return c.x; };
      xAxis.size = 60;
    }
    // The node colours have one legend above the charts; a chart's own legend is static (no empty
    // "time: –" values) and only drawn when some line is not a node (total, p99, errors).
    var ownLegend = c.lines.length > 1 && c.lines.some(function (l) { return !l.node; });
    var opts = {
      legend: { show: ownLegend, live: false },
      width: width, height: (c.height || 240) + (c.faults ? rows * (laneCss + 1) : 0), plugins: plugins,
      padding: [c.faults && rows ? rows * (laneCss + 1) + 10 : 12, 16, null, null],
      scales: { x: c.xFormat === 'index' ? { time: false, range: function () { return [-0.5, c.x.length - 0.5]; } } : { time: false } },
      axes: [xAxis, { label: c.unit, size: 64, values: function (u, vals) { return vals.map(fmt); } }],
      series: series,
    };
    plots.push({ plot: new uPlot(opts, [c.x].concat(c.lines.map(function (l) { return l.values; })), el), el: el });
    drawn++;
  });
  window.addEventListener('resize', function () {
    plots.forEach(function (p) { p.plot.setSize({ width: Math.max(320, p.el.clientWidth), height: p.plot.height }); });
  });
  document.body.dataset.charts = String(drawn);
})();
`;
