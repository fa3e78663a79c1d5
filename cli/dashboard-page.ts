/**
 * The dashboard's page and its script. Data is written with textContent only (release ids, tags,
 * reasons are people's words), charts are drawn by Chart.js (served from this package, no CDN).
 */

export const dashboardPage = (title: string, token: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="switchyard-token" content="${token}">
<title>${title.replace(/[<>&"]/g, '')}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b1f24;color:#fff;padding:.8rem 1.25rem;display:flex;gap:1.5rem;align-items:baseline;flex-wrap:wrap}
header h1{font-size:1.15rem;margin:0}#summary{font-weight:600}#updated{opacity:.7;font-size:.85rem}
main{padding:1rem 1.25rem;display:grid;gap:1rem;max-width:1400px}
section{background:#fff;border:1px solid #dde1e6;border-radius:.5rem;padding:.8rem 1rem}
h2{font-size:1rem;margin:.1rem 0 .6rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#57606a}
.live-blue{color:#0b5cad;font-weight:700}.live-green{color:#1a7f37;font-weight:700}.live-split{color:#b42318;font-weight:700}
.bar{display:flex;height:.9rem;border-radius:.2rem;overflow:hidden;min-width:10rem;background:#eee}
.bar span{display:block}.b{background:#3b82c4}.g{background:#2da44e}
.outcome-Promoted{color:#1a7f37}.outcome-RolledBack,.outcome-Aborted,.outcome-RollbackFailed{color:#b42318}
.running{color:#9a6700;font-weight:600}.waiting{border-color:#d4a72c;background:#fffbea}
button{font:inherit;font-weight:600;padding:.35rem .9rem;border-radius:.35rem;cursor:pointer;margin-right:.4rem}
.approve{background:#1a7f37;color:#fff;border:1px solid #1a7f37}.reject{background:#fff;color:#b42318;border:1px solid #b42318}
.charts{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem}
.charts div{position:relative;height:320px}#release-title{font-weight:600}
code{font-size:.85rem}.muted{color:#57606a}
@media (max-width:900px){.charts{grid-template-columns:1fr}}
</style></head>
<body><header><h1>Switchyard</h1><span id="summary">loading…</span><span id="updated"></span></header>
<main>
<section id="waiting-section" class="waiting" hidden><h2>Waiting for approval</h2><table id="waiting"></table></section>
<section><h2>Targets</h2><table id="targets"></table></section>
<section><h2>Release <span id="release-title"></span></h2>
<p class="muted" id="release-facts"></p>
<div class="charts"><div><canvas id="gantt" aria-label="phases of the release over time"></canvas></div>
<div><canvas id="weights" aria-label="share of traffic on the new colour over time"></canvas></div></div>
<div class="charts" id="analysis"></div></section>
<section><h2>History</h2><table id="history"></table></section>
</main>
<script src="/chart.js"></script><script src="/app.js"></script></body></html>`;

export const dashboardScript = `'use strict';
const token = document.querySelector('meta[name="switchyard-token"]').content;
let selected = null;
let charts = {};
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; };
const row = (cells, head) => { const tr = el('tr'); for (const c of cells) { const td = el(head ? 'th' : 'td'); if (c instanceof Node) td.append(c); else td.textContent = c ?? ''; tr.append(td); } return tr; };
const short = (d) => d ? d.replace(/^sha256:/, '').slice(0, 12) : '';
const version = (v) => v && v.tag ? v.tag + (v.digest ? ' (' + short(v.digest) + ')' : '') : (v && v.digest ? short(v.digest) : '-');
const took = (s) => s == null ? 'running' : s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm ' + (s % 60) + 's' : Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
const bar = (w) => { const b = el('div', undefined, 'bar'); const blue = el('span', undefined, 'b'); blue.style.width = w.blue + '%'; const green = el('span', undefined, 'g'); green.style.width = w.green + '%'; b.title = 'blue ' + w.blue + '% / green ' + w.green + '%'; b.append(blue, green); const wrap = el('div'); wrap.append(b, el('small', 'blue ' + w.blue + '% / green ' + w.green + '%', 'muted')); return wrap; };

async function decide(releaseId, action) {
  let reason;
  if (action === 'reject') { reason = prompt('Reason for rejecting ' + releaseId); if (!reason) return; }
  const res = await fetch('/api/decide', { method: 'POST', headers: { 'content-type': 'application/json', 'x-switchyard-token': token }, body: JSON.stringify({ releaseId, action, reason }) });
  const body = await res.json().catch(() => ({}));
  alert(res.ok ? (action === 'approve' ? 'Approved' : 'Rejected') + ': ' + (body.message || body.state || releaseId) : 'Not decided: ' + (body.error || res.status));
  refresh();
}

function renderWaiting(waiting) {
  const section = document.getElementById('waiting-section');
  const table = document.getElementById('waiting');
  table.replaceChildren(row(['release', 'target', 'version', 'asked', 'decide by', ''], true));
  section.hidden = waiting.length === 0;
  for (const w of waiting) {
    const buttons = el('div');
    const a = el('button', 'Approve', 'approve'); a.onclick = () => decide(w.releaseId, 'approve');
    const r = el('button', 'Reject', 'reject'); r.onclick = () => decide(w.releaseId, 'reject');
    buttons.append(a, r);
    table.append(row([w.releaseId, w.target + ' (' + w.environment + ')', w.tag || '?', w.asked.join(', ') + (w.twoPerson ? ' (two must approve' + (w.approvedBy.length ? '; ' + w.approvedBy.join(', ') + ' did' : '') + ')' : ''), new Date(w.deadline).toISOString().slice(11, 16) + ' UTC', buttons]));
  }
}

function renderTargets(targets) {
  const table = document.getElementById('targets');
  table.replaceChildren(row(['target', 'live', 'traffic', 'blue runs', 'green runs', 'lock', 'last release'], true));
  for (const t of targets) {
    const live = el('span', t.live, 'live-' + t.live);
    const last = t.last ? t.last.releaseId + ': ' + (t.last.outcome || t.last.status) : '-';
    table.append(row([t.target + ' (' + t.environment + ')', live, bar(t.weights), version(t.tasks.blue) + ' · ' + t.tasks.blue.running + '/' + t.tasks.blue.desired + ' tasks', version(t.tasks.green) + ' · ' + t.tasks.green.running + '/' + t.tasks.green.desired + ' tasks', t.lock ? 'held by ' + t.lock.heldBy : 'free', last]));
  }
}

function renderHistory(releases) {
  const table = document.getElementById('history');
  table.replaceChildren(row(['started', 'release', 'target', 'what', 'outcome', 'took', 'by', 'approved by'], true));
  for (const r of releases.slice(0, 30)) {
    const id = el('a', r.releaseId); id.href = '#'; id.onclick = (e) => { e.preventDefault(); selected = r.releaseId; refresh(); };
    const outcome = el('span', r.outcome || 'running', r.outcome ? 'outcome-' + r.outcome : 'running');
    const what = r.kind === 'rollback' ? 'rollback of ' + (r.rollbackOf || '?') : (r.image ? r.image.tag : '?');
    const approvedBy = r.approval && r.approval.status === 'APPROVED' ? r.approval.decidedBy.join(', ') : '-';
    table.append(row([r.createdAt.replace('T', ' ').slice(0, 19), id, r.target, what, outcome, took(r.durationSeconds), r.trigger.by || r.trigger.source, approvedBy]));
  }
}

let drawn = '';
function renderRelease(r, now) {
  const key = r ? r.releaseId + '/' + r.phases.length + '/' + (r.outcome || '') + '/' + (r.outcome ? '' : now) + '/' + (r.series || []).map((s) => s.canary.length + s.baseline.length).join(',') : '';
  if (key === drawn) return;
  drawn = key;
  document.getElementById('release-title').textContent = r ? r.releaseId + ' — ' + (r.outcome || 'running') : 'none yet';
  document.getElementById('release-facts').textContent = r ? [r.target + ' (' + r.environment + ')', r.kind === 'rollback' ? 'rollback of ' + (r.rollbackOf || '?') : (r.image ? r.image.tag + ' ' + short(r.image.digest) : ''), r.colours ? r.colours.from + ' → ' + r.colours.to : '', r.error ? r.error.Error + ': ' + r.error.Cause : '', 'rollback plan: ' + r.rollbackPlan].filter(Boolean).join(' · ') : '';
  for (const c of Object.values(charts)) c.destroy();
  charts = {};
  const analysis = document.getElementById('analysis');
  analysis.replaceChildren();
  if (!r) return;
  renderSeries(r, analysis);
  renderAnalysis(r, analysis);
  const t0 = Date.parse(r.createdAt);
  const minutes = (iso) => Math.round((Date.parse(iso) - t0) / 600) / 100;
  const phases = r.phases;
  charts.gantt = new Chart(document.getElementById('gantt'), {
    type: 'bar',
    data: { labels: phases.map((p) => p.name), datasets: [{ label: 'minutes after the start', data: phases.map((p) => [minutes(p.startedAt), Math.max(minutes(p.endedAt), minutes(p.startedAt) + 0.15)]), backgroundColor: phases.map((p) => p.status === 'failed' ? '#d1242f' : '#6e7781'), borderSkipped: false, barPercentage: 0.8 }] },
    options: { indexAxis: 'y', animation: false, maintainAspectRatio: false, plugins: { legend: { display: false }, title: { display: true, text: 'Phases (minutes after the start)' }, tooltip: { callbacks: { afterLabel: (c) => phases[c.dataIndex].detail || '' } } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'minutes' } }, y: { ticks: { autoSkip: false } } } },
  });
  const to = r.colours ? r.colours.to : 'green';
  const points = [{ x: 0, y: 0 }];
  for (const p of phases) {
    const m = /blue=(\\d+) green=(\\d+)/.exec(p.detail || '');
    if (!m) continue;
    const blue = Number(m[1]); const green = Number(m[2]);
    const share = blue + green === 0 ? 0 : Math.round(((to === 'blue' ? blue : green) * 100) / (blue + green));
    points.push({ x: minutes(p.endedAt), y: share });
  }
  // A running release's line goes on to the data's own now (virtual time, locally), not this browser's clock.
  const end = r.endedAt ? minutes(r.endedAt) : minutes(now);
  points.push({ x: end, y: points[points.length - 1].y });
  charts.weights = new Chart(document.getElementById('weights'), {
    type: 'line',
    data: { datasets: [{ label: '% of traffic on ' + to + ' (the new colour)', data: points, stepped: 'before', borderColor: to === 'blue' ? '#3b82c4' : '#2da44e', backgroundColor: 'transparent', pointRadius: 3 }] },
    options: { animation: false, maintainAspectRatio: false, parsing: false, plugins: { title: { display: true, text: 'Traffic on the new colour' } }, scales: { x: { type: 'linear', beginAtZero: true, title: { display: true, text: 'minutes' } }, y: { min: 0, max: 100, title: { display: true, text: '%' } } } },
  });
}

// Each bake check over the release's life, minute by minute: the new colour against the old one,
// with its thresholds (what the watch judges each minute). Read by the server with your credentials.
function renderSeries(r, container) {
  if (r.seriesError) {
    const note = el('p');
    note.textContent = 'analysis metrics could not be read: ' + r.seriesError;
    container.append(note);
    return;
  }
  const t0 = Date.parse(r.createdAt);
  const to = r.colours ? r.colours.to : 'green';
  const from = to === 'blue' ? 'green' : 'blue';
  const hue = (c) => c === 'blue' ? '#3b82c4' : '#2da44e';
  for (const s of (r.series || []).slice(0, 6)) {
    const scale = s.unit === 'ratio' ? 100 : 1;
    const unit = s.unit === 'ratio' ? '%' : s.unit;
    const pts = (list) => list.map(([t, v]) => ({ x: Math.round((t - t0) / 600) / 100, y: v * scale }));
    const datasets = [
      { label: to + ' (new)', data: pts(s.canary), borderColor: hue(to), backgroundColor: 'transparent', pointRadius: 2 },
      { label: from + ' (old)', data: pts(s.baseline), borderColor: hue(from), borderDash: [2, 2], backgroundColor: 'transparent', pointRadius: 2 },
    ];
    const xs = [...s.canary, ...s.baseline].map(([t]) => Math.round((t - t0) / 600) / 100);
    const span = xs.length ? [Math.min(0, ...xs), Math.max(...xs)] : [0, 1];
    for (const [key, label] of [['max', 'max'], ['min', 'min']]) {
      if (s[key] != null) datasets.push({ label: label + ' ' + s[key] * scale + (unit ? ' ' + unit : ''), data: span.map((x) => ({ x, y: s[key] * scale })), borderColor: '#d1242f', borderDash: [6, 4], backgroundColor: 'transparent', pointRadius: 0 });
    }
    const wrap = el('div');
    const canvas = el('canvas');
    canvas.id = 'series-' + s.check;
    canvas.setAttribute('aria-label', s.check + ' per minute: the new colour against the old one');
    wrap.append(canvas);
    container.append(wrap);
    charts['series-' + s.check] = new Chart(canvas, {
      type: 'line',
      data: { datasets },
      options: { animation: false, maintainAspectRatio: false, parsing: false, plugins: { title: { display: true, text: s.check + ': ' + s.metric + (unit ? ' (' + unit + ')' : '') + ' per minute' } }, scales: { x: { type: 'linear', title: { display: true, text: 'minutes after the start' } }, y: { beginAtZero: true, title: { display: true, text: unit || 'value' } } } },
    });
  }
}

// Each analysis check at each bake's end (and on test traffic before any weight moved): the new
// colour against the old one (analysis/).
function renderAnalysis(r, container) {
  const bakes = r.analysis || [];
  const names = [...new Set(bakes.flatMap((b) => b.results.map((x) => x.check)))].slice(0, 6);
  for (const name of names) {
    const per = bakes.map((b) => ({ b, x: b.results.find((x) => x.check === name) })).filter((p) => p.x);
    const first = per[0].x;
    const scale = first.unit === 'ratio' ? 100 : 1;
    const unit = first.unit === 'ratio' ? '%' : first.unit;
    const wrap = el('div');
    const canvas = el('canvas');
    canvas.id = 'analysis-' + name;
    canvas.setAttribute('aria-label', name + ': the new colour against the old one at each bake');
    wrap.append(canvas);
    container.append(wrap);
    charts['analysis-' + name] = new Chart(canvas, {
      type: 'bar',
      data: {
        labels: per.map((p) => p.b.percent === 0 ? 'test traffic' : p.b.percent + '% (step ' + p.b.step + ')'),
        datasets: [
          { label: 'new colour', data: per.map((p) => p.x.value == null ? null : p.x.value * scale), backgroundColor: per.map((p) => p.x.verdict === 'fail' ? '#d1242f' : p.x.verdict === 'inconclusive' ? '#bf8700' : '#2da44e') },
          { label: 'old colour', data: per.map((p) => p.x.baseline == null ? null : p.x.baseline * scale), backgroundColor: '#3b82c4' },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, plugins: { title: { display: true, text: name + ': ' + first.metric + (unit ? ' (' + unit + ')' : '') + ' — ' + per.map((p) => p.x.verdict).join(', ') }, tooltip: { callbacks: { afterLabel: (c) => per[c.dataIndex].x.reason } } }, scales: { y: { beginAtZero: true, title: { display: true, text: unit || 'value' } } } },
    });
  }
}

async function refresh() {
  try {
    const res = await fetch('/api/state');
    const state = await res.json();
    if (!res.ok) throw new Error(state.error || res.status);
    const running = state.releases.filter((r) => !r.outcome);
    document.getElementById('summary').textContent = state.targets.length + ' targets · ' + running.length + ' running · ' + state.waiting.length + ' waiting for approval';
    document.getElementById('updated').textContent = (state.kind === 'local' ? 'local, virtual time ' : '') + state.at.replace('T', ' ').slice(0, 19) + ' UTC';
    renderWaiting(state.waiting);
    renderTargets(state.targets);
    renderHistory(state.releases);
    const shown = state.releases.find((r) => r.releaseId === selected) || running[0] || state.releases[0];
    renderRelease(shown, state.at);
    document.body.dataset.releases = String(state.releases.length);
  } catch (error) {
    document.getElementById('summary').textContent = 'cannot read the state: ' + error.message;
  }
}
refresh();
setInterval(refresh, 3000);
`;
