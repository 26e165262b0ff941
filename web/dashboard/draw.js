// dashboard/draw.js: the table and bar-chart builders the dashboard's guarantee and practice
// parts share. Charts are plain SVG with role=img and a name; every bar carries its number in
// text, so colour is never the only cue, and a table with the same figures is always beside it.
import { el } from '/common/dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const nf1 = new Intl.NumberFormat('nl-NL', { maximumFractionDigits: 1 });

export const fmt = (v) => (v === null || v === undefined ? '–' : nf1.format(v));
export const pct = (v) => (v === null || v === undefined ? '–' : nf1.format(v) + '%');

export function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A table with a caption, column headers and (optionally) a footer row; the first cell of
// every row is expected to be a row header (th scope=row).
export function table(caption, headers, rows, opts = {}) {
  const t = el('table', { class: opts.className || null });
  if (caption) t.append(el('caption', {}, caption));
  const head = el('tr');
  headers.forEach((h) => head.append(el('th', { scope: 'col' }, h)));
  t.append(el('thead', {}, head));
  t.append(el('tbody', {}, ...rows));
  if (opts.foot) t.append(el('tfoot', {}, opts.foot));
  return t;
}

// A row: a row header and cells (nodes and strings as they are, numbers formatted), with optional attributes on the row.
export function row(header, cells, attrs = {}) {
  return el('tr', attrs, el('th', { scope: 'row' }, header),
    ...cells.map((c) => el('td', {}, c instanceof Node || typeof c === 'string' ? c : fmt(c))));
}

// Horizontal stacked bars: bars = [{label, parts: {key: n}}], keys = [[key, Dutch name,
// colour]]. Each segment has a <title>; each bar ends with its total in text.
export function stackedBars(labelledBy, bars, keys) {
  const labelW = 230, barW = 520, rowH = 26, top = 8, legendH = 24;
  const max = Math.max(1, ...bars.map((b) => keys.reduce((s, [k]) => s + (b.parts[k] || 0), 0)));
  const H = top + bars.length * rowH + legendH + 8;
  const W = labelW + barW + 60;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-labelledby': labelledBy });
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    root.append(svg('text', { x: labelW - 8, y: y + 16, 'text-anchor': 'end', 'font-size': 12, fill: '#1b1f24' },
      b.label.length > 34 ? b.label.slice(0, 33) + '…' : b.label));
    let x = labelW, total = 0;
    for (const [k, name, colour] of keys) {
      const n = b.parts[k] || 0;
      if (!n) continue;
      const w = (n * barW) / max;
      const rect = svg('rect', { x, y: y + 3, width: Math.max(w, 1), height: rowH - 8, fill: colour, stroke: '#ffffff' });
      rect.append(svg('title', {}, `${b.label}: ${name} ${fmt(n)}`));
      root.append(rect);
      x += w;
      total += n;
    }
    root.append(svg('text', { x: x + 6, y: y + 16, 'font-size': 12, fill: '#1b1f24' }, fmt(total)));
  });
  let lx = labelW;
  const ly = top + bars.length * rowH + 10;
  for (const [, name, colour] of keys) {
    root.append(svg('rect', { x: lx, y: ly, width: 14, height: 12, fill: colour }));
    const text = svg('text', { x: lx + 18, y: ly + 11, 'font-size': 12, fill: '#1b1f24' }, name);
    root.append(text);
    lx += 28 + name.length * 6.6;
  }
  return root;
}

// Horizontal bars of a share in percent (0..100+), the value written after each bar.
export function percentBars(labelledBy, bars) {
  const labelW = 230, barW = 420, rowH = 26, top = 8;
  const H = top + bars.length * rowH + 24;
  const W = labelW + barW + 90;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-labelledby': labelledBy });
  const x100 = labelW + barW * 0.8; // 100% at four fifths, so overuse shows beyond the line
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    root.append(svg('text', { x: labelW - 8, y: y + 16, 'text-anchor': 'end', 'font-size': 12, fill: '#1b1f24' }, b.label));
    const v = b.value === null || b.value === undefined ? null : Math.max(0, b.value);
    const w = v === null ? 0 : Math.min(barW, (v / 100) * (x100 - labelW));
    if (w > 0) root.append(svg('rect', { x: labelW, y: y + 4, width: w, height: rowH - 10, fill: v > 100 ? '#9b1c1c' : '#0b4f8a' }));
    root.append(svg('text', { x: labelW + w + 6, y: y + 16, 'font-size': 12, fill: '#1b1f24' },
      v === null ? 'geen jaarlimiet' : pct(b.value)));
  });
  root.append(svg('line', { x1: x100, x2: x100, y1: top, y2: top + bars.length * rowH, stroke: '#4a5562', 'stroke-dasharray': '4 3' }));
  root.append(svg('text', { x: x100, y: H - 6, 'text-anchor': 'middle', 'font-size': 11, fill: '#4a5562' }, '100% toegekend'));
  return root;
}
