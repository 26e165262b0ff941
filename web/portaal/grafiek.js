// portaal/grafiek.js: a small bar chart in SVG for the open figures: per week a light bar
// (logeernachten offered) with a dark bar inside (free ones) and the free number written above
// it, so that colour is never the only cue. The chart is role=img with a name; the page puts
// a table with the same figures beside it.
const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// weeks: [{label, free, beds}], name: what the chart is called (its accessible name).
export function weekBars(weeks, name) {
  const barW = 36, gap = 12, top = 24, height = 140, bottom = 24;
  const width = weeks.length * (barW + gap) + gap;
  const max = Math.max(1, ...weeks.map((w) => Math.max(w.beds, w.free)));
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${top + height + bottom}`, role: 'img', 'aria-label': name,
    class: 'grafiek', focusable: 'false'
  });
  weeks.forEach((w, i) => {
    const x = gap + i * (barW + gap);
    const hBeds = Math.round((w.beds / max) * height);
    const hFree = Math.round((w.free / max) * height);
    chart.append(
      svg('rect', { x, y: top + height - hBeds, width: barW, height: hBeds, class: 'grafiek__aanbod' }),
      svg('rect', { x: x + 6, y: top + height - hFree, width: barW - 12, height: hFree, class: 'grafiek__vrij' }),
      svg('text', { x: x + barW / 2, y: top + height - Math.max(hBeds, hFree) - 6, 'text-anchor': 'middle', class: 'grafiek__getal' }, String(w.free)),
      svg('text', { x: x + barW / 2, y: top + height + 18, 'text-anchor': 'middle', class: 'grafiek__week' }, w.label));
  });
  chart.append(svg('line', { x1: 0, x2: width, y1: top + height, y2: top + height, class: 'grafiek__as' }));
  return chart;
}
