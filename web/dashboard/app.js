/* The coordinator's dashboard: logs in with the cookie session through common/api.js (the
 * token lives only in an HttpOnly cookie, never in web storage or script), draws the reports
 * as plain SVG and tables, and follows GET /v1/events live. The event stream is read with
 * fetch() so that a 401 can be told apart from a broken connection and the page can show the
 * login again. No libraries, no build step. */
import { api as call, ApiError, currentUser, login as apiLogin, logout as apiLogout } from '/common/api.js';
import { stayStatusText } from '/common/status.js';
import { loadEscalations, renderEscalations } from './escalations.js';
import { loadPractice, renderPractice } from './practice.js';
import { showNotificationPreferences } from '/common/meldingen.js';
import { afterPassword } from '/common/tweestaps.js';

{
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const WEEKS_AHEAD = 12;
  const WEEKS_BACK = 4;
  const RECONNECT_MS = 3000;
  const REFRESH_DEBOUNCE_MS = 400;
  const MAX_EVENTS_SHOWN = 50;

  const KIND_NL = { planned: 'Planbare logeerbedden', crisis: 'Crisisbedden' };

  const state = {
    loggedIn: false,
    lastEventId: null,
    stream: null,          // AbortController of the open event stream
    refreshTimer: null,
    loading: null,         // the refresh in progress, if any
    again: false,          // another refresh was asked for meanwhile
    pools: {}              // pool id -> name, for readable live events
  };

  const $ = (id) => document.getElementById(id);

  // ---- small helpers ------------------------------------------------------------------------

  function amsterdamToday() {
    // en-CA formats as YYYY-MM-DD; the engine's nights are Dutch nights.
    return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(new Date());
  }

  function addDays(ymd, n) {
    const d = new Date(ymd + 'T12:00:00Z');
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  function mondayOf(ymd) {
    const d = new Date(ymd + 'T12:00:00Z');
    return addDays(ymd, -((d.getUTCDay() + 6) % 7));
  }

  const nf1 = new Intl.NumberFormat('nl-NL', { maximumFractionDigits: 1 });
  const fmt = (v) => (v === null || v === undefined ? '–' : nf1.format(v));
  const pct = (v) => (v === null || v === undefined ? '–' : nf1.format(v) + '%');

  function shortDate(ymd) {
    if (!ymd) return '';
    const d = new Date(ymd + 'T12:00:00Z');
    return new Intl.DateTimeFormat('nl-NL', { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(d);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'class') node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function table(caption, headers, rows, opts) {
    const t = el('table', { class: opts && opts.className ? opts.className : null });
    if (caption) t.append(el('caption', {}, caption));
    const head = el('tr');
    headers.forEach((h) => head.append(el('th', { scope: 'col' }, h)));
    t.append(el('thead', {}, head));
    const body = el('tbody');
    rows.forEach((r) => body.append(r));
    t.append(body);
    if (opts && opts.foot) t.append(el('tfoot', {}, opts.foot));
    return t;
  }

  // Light blue (empty) to dark blue (full); white text on the darker half keeps contrast.
  function heatColour(p) {
    const stops = [[238, 244, 250], [116, 169, 207], [8, 48, 107]];
    const t = Math.max(0, Math.min(1, p / 100)) * 2;
    const i = Math.min(1, Math.floor(t));
    const f = t - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return 'rgb(' + c.join(',') + ')';
  }

  // ---- API ------------------------------------------------------------------------------------

  // GET through common/api.js; a 401 (session ended) shows the login again.
  async function api(path) {
    try {
      return await call('GET', path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        showLogin('Uw sessie is verlopen. Log opnieuw in.');
        throw new ApiError(401, e.problem, 'unauthorized', {});
      }
      throw e;
    }
  }

  // POST through common/api.js (CSRF header, Dutch problems); a 401 shows the login again.
  async function post(path, body) {
    try {
      return await call('POST', path, body);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) showLogin('Uw sessie is verlopen. Log opnieuw in.');
      throw e;
    }
  }

  // ---- login -----------------------------------------------------------------------------------

  function showLogin(message) {
    stopLive();
    state.loggedIn = false;
    $('dashboard').hidden = true;
    $('session').hidden = true;
    $('login').hidden = false;
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('email').focus();
  }

  async function login(event) {
    event.preventDefault();
    const err = $('login-error');
    err.hidden = true;
    const email = $('email').value.trim();
    const password = $('password').value;
    if (!email || !password) {
      err.textContent = 'Vul uw e-mailadres en wachtwoord in.';
      err.hidden = false;
      return;
    }
    $('login-submit').disabled = true;
    try {
      const body = await apiLogin(email, password);
      if (!body || !body.user || body.user.role !== 'coordinator') {
        await apiLogout().catch(() => {});
        throw new ApiError(403, null, 'Dit dashboard is alleen voor de aanjager (coördinator).', {});
      }
      $('password').value = '';
      // A second step (or setting one up) comes first; the dashboard waits until then.
      const next = afterPassword(body, '/dashboard/');
      if (next !== '/dashboard/') {
        location.assign(next);
        return;
      }
      start();
    } catch (e) {
      err.textContent = e instanceof ApiError ? e.message : 'Inloggen lukt nu niet. Probeer het later opnieuw.';
      err.hidden = false;
    } finally {
      $('login-submit').disabled = false;
    }
  }

  async function logout() {
    showLogin('U bent uitgelogd.');
    await apiLogout().catch(() => {});
  }

  // ---- loading the reports ---------------------------------------------------------------------

  function windows() {
    const monday = mondayOf(amsterdamToday());
    return {
      heat: { from: monday, to: addDays(monday, 7 * WEEKS_AHEAD) },
      line: { from: addDays(monday, -7 * WEEKS_BACK), to: addDays(monday, 7 * WEEKS_AHEAD) }
    };
  }

  async function loadAll() {
    const w = windows();
    const q = (o) => new URLSearchParams(o).toString();
    // Everything is read first and drawn after, so the page never shows half a refresh.
    const [heat, kinds, demand, escalations, practice] = await Promise.all([
      api('/v1/reports/occupancy?' + q({ from: w.heat.from, to: w.heat.to, period: 'week', group_by: 'location' })),
      api('/v1/reports/occupancy?' + q({ from: w.line.from, to: w.line.to, period: 'week', group_by: 'kind' })),
      api('/v1/reports/demand?' + q({ group_by: 'municipality' })),
      loadEscalations(api),
      loadPractice(api)
    ]);
    renderKpis(heat, demand);
    renderHeatmap(heat);
    renderLines(kinds);
    renderDemand(demand);
    renderStale(heat);
    renderEscalations(escalations, post, refresh);
    renderPractice(practice);
    $('load-error').hidden = true;
    // Tests (and curious people) can see that a refresh happened without a reload.
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  }

  // One refresh at a time; bursts of events collapse into one more.
  async function refresh() {
    if (state.loading) {
      state.again = true;
      return state.loading;
    }
    state.loading = loadAll()
      .catch((e) => {
        if (e instanceof ApiError && e.message === 'unauthorized') return;
        const err = $('load-error');
        err.textContent = 'De cijfers konden niet worden geladen: ' + e.message;
        err.hidden = false;
      })
      .finally(() => {
        state.loading = null;
        if (state.again) {
          state.again = false;
          refresh();
        }
      });
    return state.loading;
  }

  function refreshSoon() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, REFRESH_DEBOUNCE_MS);
  }

  async function loadPoolNames() {
    try {
      const body = await api('/v1/pools?limit=200');
      for (const p of body.pools || []) state.pools[p.id] = p.name;
    } catch (e) {
      // Names only make the live list friendlier; ids will do.
    }
  }

  // ---- rendering -------------------------------------------------------------------------------

  function renderKpis(heat, demand) {
    const t = heat.total || {};
    $('kpi-occupancy').textContent = pct(t.occupancy_pct);
    $('kpi-occupancy-detail').textContent =
      fmt(t.booked_nights) + ' van ' + fmt(t.capacity_nights) + ' nachten geboekt, ' +
      fmt(t.held_nights) + ' vastgehouden';
    const d = demand.total || {};
    $('kpi-diversions').textContent = fmt(d.diversions);
    $('kpi-diversions-detail').textContent = fmt(d.diversion_nights) + ' nachten, afgelopen 90 dagen';
    $('kpi-unmet').textContent = fmt(d.searches_without_result);
    $('kpi-unmet-detail').textContent = 'van ' + fmt(d.searches) + ' zoekopdrachten, afgelopen 90 dagen';
    $('kpi-waiting').textContent = fmt(d.waitlisted_now);
    $('kpi-waiting-detail').textContent = d.waiting_days_max === null || d.waiting_days_max === undefined
      ? 'niemand wacht' : 'langste wachttijd ' + fmt(d.waiting_days_max) + ' dagen';
  }

  // Locations down, weeks across; the number in every cell, so colour is never the only cue.
  function renderHeatmap(report) {
    const locations = new Map();
    const weeks = new Map();
    for (const r of report.rows) {
      if (!locations.has(r.group.id)) locations.set(r.group.id, { name: r.group.name, cells: {} });
      locations.get(r.group.id).cells[r.period] = r;
      weeks.set(r.period, r.period_start);
    }
    const weekList = [...weeks.keys()].sort();
    const locList = [...locations.entries()].sort((a, b) => a[1].name.localeCompare(b[1].name, 'nl'));
    const labelW = 250, cellW = 62, cellH = 30, headH = 40;
    const width = labelW + cellW * weekList.length + 4;
    const height = headH + cellH * locList.length + 4;
    const root = svg('svg', {
      viewBox: '0 0 ' + width + ' ' + height, width: width, height: height, role: 'img',
      'aria-labelledby': 'heat-title heat-desc', id: 'heatmap-svg'
    });
    weekList.forEach((w, i) => {
      const x = labelW + i * cellW + cellW / 2;
      root.append(svg('text', { x, y: 16, 'text-anchor': 'middle', 'font-size': 12, fill: '#1b1f24' }, 'wk ' + w.slice(6)));
      root.append(svg('text', { x, y: 32, 'text-anchor': 'middle', 'font-size': 11, fill: '#4a5562' }, shortDate(weeks.get(w))));
    });
    locList.forEach(([id, loc], row) => {
      const y = headH + row * cellH;
      const label = loc.name.length > 34 ? loc.name.slice(0, 33) + '…' : loc.name;
      root.append(svg('text', { x: 0, y: y + cellH / 2 + 4, 'font-size': 13, fill: '#1b1f24' }, label));
      weekList.forEach((w, i) => {
        const c = loc.cells[w];
        const g = svg('g', {
          class: 'cell', 'data-location-id': id, 'data-week': w,
          'data-booked': c ? c.booked_nights : 0, 'data-capacity': c ? c.capacity_nights : 0
        });
        const x = labelW + i * cellW;
        const has = c && c.capacity_nights > 0;
        g.append(svg('rect', {
          x: x + 1, y: y + 1, width: cellW - 2, height: cellH - 2, rx: 3,
          fill: has ? heatColour(c.occupancy_pct) : '#e4e7eb', stroke: '#ffffff'
        }));
        g.append(svg('text', {
          x: x + cellW / 2, y: y + cellH / 2 + 4, 'text-anchor': 'middle', 'font-size': 12,
          fill: has && c.occupancy_pct >= 50 ? '#ffffff' : '#1b1f24'
        }, has ? Math.round(c.occupancy_pct) + '%' : '–'));
        const tip = svg('title', {}, loc.name + ', week ' + w + ': ' +
          (has ? pct(c.occupancy_pct) + ' (' + c.booked_nights + ' van ' + c.capacity_nights + ' nachten)' : 'geen bedden'));
        g.prepend(tip);
        root.append(g);
      });
    });
    $('heatmap').replaceChildren(locList.length ? root : el('p', { class: 'hint' }, 'Geen capaciteit in deze periode.'));

    const legend = $('heat-legend');
    legend.replaceChildren('0%');
    [0, 25, 50, 75, 100].forEach((p) => {
      const s = el('span', { class: 'swatch' });
      s.style.background = heatColour(p);
      legend.append(s);
    });
    legend.append('100%');

    const rows = locList.map(([id, loc]) => {
      const tr = el('tr', {}, el('th', { scope: 'row' }, loc.name));
      weekList.forEach((w) => {
        const c = loc.cells[w];
        tr.append(el('td', { 'data-location-id': id, 'data-week': w },
          c && c.capacity_nights > 0 ? pct(c.occupancy_pct) + ' (' + c.booked_nights + '/' + c.capacity_nights + ')' : '–'));
      });
      return tr;
    });
    $('heat-table').replaceChildren(table('Bezetting per locatie per week: percentage (geboekt/capaciteit in nachten)',
      ['Locatie', ...weekList.map((w) => 'wk ' + w.slice(6))], rows));
  }

  function renderLines(report) {
    const series = new Map();
    const weeks = new Set();
    for (const r of report.rows) {
      if (!series.has(r.group.id)) series.set(r.group.id, {});
      series.get(r.group.id)[r.period] = r;
      weeks.add(r.period);
    }
    const weekList = [...weeks].sort();
    const W = 960, H = 280, left = 48, right = 200, top = 12, bottom = 36;
    const plotW = W - left - right, plotH = H - top - bottom;
    const x = (i) => left + (weekList.length > 1 ? (i * plotW) / (weekList.length - 1) : plotW / 2);
    const y = (p) => top + plotH - (Math.max(0, Math.min(100, p)) * plotH) / 100;
    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
      'aria-labelledby': 'line-title line-desc', id: 'linechart-svg' });
    [0, 25, 50, 75, 100].forEach((p) => {
      root.append(svg('line', { x1: left, x2: left + plotW, y1: y(p), y2: y(p), stroke: '#c9d1da' }));
      root.append(svg('text', { x: left - 6, y: y(p) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#4a5562' }, p + '%'));
    });
    const step = Math.max(1, Math.ceil(weekList.length / 12));
    weekList.forEach((w, i) => {
      if (i % step) return;
      root.append(svg('text', { x: x(i), y: H - 14, 'text-anchor': 'middle', 'font-size': 11, fill: '#4a5562' }, 'wk ' + w.slice(6)));
    });
    const styles = { planned: { stroke: '#0b4f8a', dash: '' }, crisis: { stroke: '#b2182b', dash: '6 4' } };
    let legendY = top + 10;
    for (const [kind, points] of [...series.entries()].sort()) {
      const st = styles[kind] || { stroke: '#333', dash: '2 2' };
      const coords = [];
      weekList.forEach((w, i) => {
        const r = points[w];
        if (r && r.occupancy_pct !== null) coords.push([x(i), y(r.occupancy_pct), r, w]);
      });
      if (coords.length) {
        root.append(svg('polyline', {
          points: coords.map((c) => c[0].toFixed(1) + ',' + c[1].toFixed(1)).join(' '),
          fill: 'none', stroke: st.stroke, 'stroke-width': 2.5, 'stroke-dasharray': st.dash
        }));
      }
      coords.forEach(([cx, cy, r, w]) => {
        const dot = svg('circle', { cx, cy, r: 3.5, fill: st.stroke });
        dot.append(svg('title', {}, (KIND_NL[kind] || kind) + ', week ' + w + ': ' + pct(r.occupancy_pct)));
        root.append(dot);
      });
      root.append(svg('line', { x1: left + plotW + 16, x2: left + plotW + 44, y1: legendY, y2: legendY,
        stroke: st.stroke, 'stroke-width': 2.5, 'stroke-dasharray': st.dash }));
      root.append(svg('text', { x: left + plotW + 50, y: legendY + 4, 'font-size': 12, fill: '#1b1f24' }, KIND_NL[kind] || kind));
      legendY += 20;
    }
    $('linechart').replaceChildren(weekList.length ? root : el('p', { class: 'hint' }, 'Geen gegevens in deze periode.'));

    const kinds = [...series.keys()].sort();
    const rows = weekList.map((w) => {
      const tr = el('tr', {}, el('th', { scope: 'row' }, 'wk ' + w.slice(6)));
      kinds.forEach((k) => tr.append(el('td', {}, series.get(k)[w] ? pct(series.get(k)[w].occupancy_pct) : '–')));
      return tr;
    });
    $('line-table').replaceChildren(table('Bezetting per week en soort bed', ['Week', ...kinds.map((k) => KIND_NL[k] || k)], rows));
  }

  function renderDemand(report) {
    const cols = [
      ['requests', 'Aanvragen'], ['placed', 'Geplaatst'], ['declined', 'Afgewezen'],
      ['cancelled', 'Geannuleerd'], ['no_shows', 'No-show'], ['expired_holds', 'Verlopen'],
      ['waitlisted_now', 'Wachtlijst nu'], ['waiting_days_median', 'Wachtdagen (mediaan)'],
      ['days_to_confirmed_median', 'Dagen tot plaatsing (mediaan)'],
      ['searches_without_result', 'Zoeken zonder resultaat'], ['diversions', 'Omleidingen']
    ];
    const unmetCols = new Set(['declined', 'waitlisted_now', 'searches_without_result', 'diversions']);
    const line = (name, r, cls) => {
      const tr = el('tr', { class: cls || null, 'data-group-id': r.group ? r.group.id : 'total' }, el('th', { scope: 'row' }, name));
      cols.forEach(([k]) => tr.append(el('td', { class: unmetCols.has(k) && r[k] > 0 ? 'unmet' : null }, fmt(r[k]))));
      return tr;
    };
    const rows = report.rows.map((r) => line(r.group.name, r));
    $('demand-table').replaceChildren(table(
      'Van ' + shortDate(report.from) + ' tot ' + shortDate(report.to),
      ['Gemeente', ...cols.map((c) => c[1])], rows,
      { foot: line('Regio Drenthe', report.total, 'total') }));
  }

  function renderStale(report) {
    const s = report.stale || { list: [] };
    $('stale-desc').textContent = s.list.length
      ? s.list.length + ' pool(s) met capaciteit die langer dan ' + report.stale_days +
        ' dagen niet is bevestigd. Hun bedden tellen niet mee in de bezetting hierboven.'
      : 'Alle aanbieders hebben hun capaciteit de afgelopen ' + report.stale_days + ' dagen bevestigd.';
    if (!s.list.length) {
      $('stale-table').replaceChildren();
      return;
    }
    const dt = new Intl.DateTimeFormat('nl-NL', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Amsterdam' });
    const rows = s.list.map((p) => el('tr', { 'data-pool-id': p.pool_id },
      el('th', { scope: 'row' }, p.provider_name), el('td', {}, p.pool_name), el('td', {}, p.location_name),
      el('td', {}, dt.format(new Date(p.as_of))), el('td', {}, fmt(p.days_stale))));
    $('stale-table').replaceChildren(table(null, ['Aanbieder', 'Pool', 'Locatie', 'Laatst bevestigd', 'Dagen oud'], rows, { className: 'text' }));
  }

  function describe(ev) {
    const pool = ev.pool_id ? (state.pools[ev.pool_id] || 'pool ' + ev.pool_id.slice(0, 8)) : '';
    const nights = ev.nights ? ' (' + shortDate(ev.nights.from) + ' – ' + shortDate(ev.nights.to) + ')' : '';
    if (ev.type === 'capacity.updated') return 'Capaciteit bijgewerkt: ' + pool + nights;
    if (ev.type === 'escalation.opened') return 'Garantie niet gehaald, escalatie geopend: ' + pool + nights;
    if (ev.type === 'escalation.resolved') return 'Escalatie afgehandeld: ' + pool + nights;
    const status = ev.status ? stayStatusText(ev.status) : ev.type;
    const crisis = ev.kind === 'crisis' ? 'Crisisverblijf' : 'Verblijf';
    return crisis + ' ' + status + ': ' + pool + nights;
  }

  function addEvent(ev) {
    const list = $('events');
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    const time = new Date(ev.at);
    const li = el('li', { 'data-event-id': ev.id, 'data-stay-id': ev.stay_id || null },
      el('time', { datetime: ev.at }, time.toLocaleTimeString('nl-NL', { hour: '2-digit', minute: '2-digit', second: '2-digit' })),
      describe(ev));
    list.prepend(li);
    while (list.children.length > MAX_EVENTS_SHOWN) list.lastElementChild.remove();
  }

  // ---- the live stream -------------------------------------------------------------------------

  function setLive(on, text) {
    const live = $('live');
    live.className = 'live ' + (on ? 'on' : 'off');
    live.textContent = text || (on ? 'Live' : 'Verbinding verbroken, opnieuw verbinden…');
  }

  function stopLive() {
    if (state.stream) state.stream.abort();
    state.stream = null;
  }

  // One SSE message: "field: value" lines, comments start with ':'.
  function handleBlock(block) {
    let data = null, id = null;
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') id = value;
      else if (field === 'data') data = data === null ? value : data + '\n' + value;
    }
    if (id !== null) state.lastEventId = id;
    if (data === null) return;
    let ev;
    try { ev = JSON.parse(data); } catch (e) { return; }
    if (ev.type === 'stream.end') {
      if (ev.reason === 'session_ended') showLogin('Uw sessie is beëindigd. Log opnieuw in.');
      return;
    }
    if (ev.type === 'stream.reset') {
      refreshSoon();
      return;
    }
    addEvent(ev);
    refreshSoon();
  }

  async function followEvents(ctrl) {
    const headers = { Accept: 'text/event-stream' };
    if (state.lastEventId !== null) headers['Last-Event-ID'] = state.lastEventId;
    const resp = await fetch('/v1/events', { headers, signal: ctrl.signal, cache: 'no-store', credentials: 'same-origin' });
    if (resp.status === 401) {
      showLogin('Uw sessie is verlopen. Log opnieuw in.');
      return false;
    }
    if (!resp.ok || !resp.body) throw new Error('HTTP ' + resp.status);
    setLive(true);
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let m;
      while ((m = /\r?\n\r?\n/.exec(buffer))) {
        handleBlock(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
      }
    }
    return true;
  }

  async function live() {
    stopLive();
    const ctrl = new AbortController();
    state.stream = ctrl;
    while (!ctrl.signal.aborted && state.loggedIn) {
      try {
        if (!(await followEvents(ctrl))) return;
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      if (ctrl.signal.aborted || !state.loggedIn) return;
      setLive(false);
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
      // What happened while the stream was down arrives on resume; refresh the rest.
      refreshSoon();
    }
  }

  // ---- start -----------------------------------------------------------------------------------

  function start() {
    state.loggedIn = true;
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('session').hidden = false;
    setLive(false, 'Verbinden…');
    const list = $('events');
    if (!list.children.length) list.append(el('li', { class: 'empty' }, 'Nog geen gebeurtenissen sinds u dit scherm opende.'));
    loadPoolNames();
    // Once per login, not per refresh: a refresh must not undo a choice not yet saved.
    showNotificationPreferences($('meldingen-keuzes'), 'meldingen');
    refresh().then(() => {
      document.body.dataset.loaded = 'true';
    });
    live();
    $('main').focus();
  }

  // Module scripts run after the document is parsed. A cookie session that is still alive
  // (a reload) goes straight to the figures.
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  $('refresh').addEventListener('click', () => refresh());
  const user = await currentUser().catch(() => null);
  if (user && user.role === 'coordinator') start(); else $('email').focus();
  document.body.dataset.ready = 'true';
}
