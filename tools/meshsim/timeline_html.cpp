// The `meshsim timeline` page: one self-contained HTML file (inline CSS and
// JavaScript, no network access, no libraries). The run's data (timeline.h)
// sits in <script type="application/json" id="meshsim-data">; the script
// draws only the visible time window onto a <canvas>, so 100k+ messages stay
// usable. Once drawn it sets document.title and #summary to
// "meshsim timeline: N nodes, M messages, K drops, V violations"; a script
// error (window.onerror) adds #meshsim-error and sets the title to
// "meshsim timeline: JS error".
#include <string>
#include <string_view>

#include "tools/meshsim/timeline.h"

namespace meshd::tools {

namespace {

constexpr std::string_view kPlaceholder = "/*MESHSIM_DATA*/";

constexpr std::string_view kTemplate = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>meshsim timeline (loading)</title>
<script>
window.onerror = function (msg, src, line, col) {
  var e = document.getElementById('meshsim-error');
  if (!e) {
    e = document.createElement('pre');
    e.id = 'meshsim-error';
    e.className = 'error';
    (document.body || document.documentElement).appendChild(e);
  }
  e.textContent += 'JS error: ' + msg + ' (line ' + line + ':' + col + ')\n';
  document.title = 'meshsim timeline: JS error';
  return false;
};
</script>
<style>
  html, body { margin: 0; padding: 0; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; background: #fafafa; }
  header { padding: 6px 10px; border-bottom: 1px solid #ddd; background: #fff; }
  header h1 { font-size: 15px; margin: 0 0 2px 0; }
  #summary { font-weight: 600; }
  .muted { color: #666; }
  .fail { color: #c00; font-weight: 600; }
  .pass { color: #080; font-weight: 600; }
  .error { color: #fff; background: #c00; padding: 6px 10px; margin: 0; white-space: pre-wrap; }
  #truncated { color: #a40; font-weight: 600; }
  #toolbar { padding: 4px 10px; background: #f0f0f0; border-bottom: 1px solid #ddd; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #toolbar button { font: inherit; padding: 1px 8px; }
  #wrap { position: relative; }
  canvas { display: block; cursor: grab; }
  canvas.dragging { cursor: grabbing; }
  #tip { position: absolute; pointer-events: none; background: rgba(255,255,255,.96); border: 1px solid #999; padding: 3px 6px; font-size: 12px; white-space: pre; display: none; box-shadow: 1px 1px 4px rgba(0,0,0,.2); }
  #legend span { margin-right: 12px; white-space: nowrap; }
  .sw { display: inline-block; width: 14px; height: 9px; vertical-align: middle; margin-right: 3px; border: 1px solid rgba(0,0,0,.2); }
  #violations { margin: 4px 10px; }
  #violations li { color: #c00; cursor: pointer; }
  #violations li:hover { text-decoration: underline; }
</style>
</head>
<body>
<header>
  <h1>meshsim timeline &mdash; <span id="title-run"></span></h1>
  <div id="summary">rendering&hellip;</div>
  <div id="stats" class="muted"></div>
  <div id="truncated"></div>
</header>
<div id="toolbar">
  <button id="zin" title="zoom in (wheel up)">+</button>
  <button id="zout" title="zoom out (wheel down)">&minus;</button>
  <button id="left" title="pan left (drag)">&larr;</button>
  <button id="right" title="pan right (drag)">&rarr;</button>
  <button id="fit" title="whole run">fit</button>
  <span id="window" class="muted"></span>
  <span id="render-status" class="muted"></span>
</div>
<div id="legend" style="padding:3px 10px">
  <span><i class="sw" style="background:#2b6cb0"></i>delivered</span>
  <span><i class="sw" style="background:#d33"></i>dropped (&times;)</span>
  <span><i class="sw" style="background:#e08a00"></i>corrupted copy</span>
  <span><i class="sw" style="background:#999"></i>in flight at the end</span>
  <span><i class="sw" style="background:rgba(90,90,90,.35)"></i>node down (crash &rarr; restart)</span>
  <span><i class="sw" style="background:rgba(230,190,40,.45)"></i>node paused</span>
  <span><i class="sw" style="background:rgba(240,120,40,.22)"></i>blocked links (partition)</span>
  <span><i class="sw" style="background:rgba(140,80,200,.2)"></i>clogged links</span>
  <span><i class="sw" style="background:#c00"></i>invariant violation</span>
  <span>&#9660; fault</span>
</div>
<div id="wrap"><canvas id="chart"></canvas><div id="tip"></div></div>
<ol id="violations"></ol>
<script type="application/json" id="meshsim-data">/*MESHSIM_DATA*/</script>
<script>
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('meshsim-data').textContent);
  var N = D.nodes, M = D.msgs, n = M.t0.length;
  var endUs = Math.max(D.end_us, 1);
  var canvas = document.getElementById('chart'), ctx = canvas.getContext('2d');
  var tip = document.getElementById('tip');
  var LEFT = 64, RIGHT = 14, AXIS = 26, WORLD = 22, BOTTOM = 8;
  var W = 800, H = 400, laneH = 20;
  var v0 = 0, v1 = endUs;
  var visible = 0;
  var maxDur = 0, i;
  for (i = 0; i < n; ++i) {
    var e = M.t1[i] >= 0 ? M.t1[i] : endUs;
    if (e - M.t0[i] > maxDur) maxDur = e - M.t0[i];
  }

  function fmtT(us, step) {
    var s = us / 1e6;
    var digits = step >= 1e6 ? 0 : step >= 1e5 ? 1 : step >= 1e4 ? 2 : step >= 1e3 ? 3 : step >= 100 ? 4 : step >= 10 ? 5 : 6;
    return s.toFixed(digits) + 's';
  }
  function fmtDur(us) { return us >= 1e6 ? (us / 1e6).toFixed(3) + ' s' : us >= 1e3 ? (us / 1e3).toFixed(3) + ' ms' : us + ' us'; }
  function x(t) { return LEFT + (t - v0) / (v1 - v0) * (W - LEFT - RIGHT); }
  function tAt(px) { return v0 + (px - LEFT) / (W - LEFT - RIGHT) * (v1 - v0); }
  function laneY(k) { return k < 0 ? AXIS + WORLD / 2 : AXIS + WORLD + (k + 0.5) * laneH; }
  function clampX(px) { return Math.max(LEFT - 2, Math.min(W - RIGHT + 2, px)); }
  function lowerBound(arr, v) {  // first index with arr[i] >= v (arr sorted)
    var lo = 0, hi = arr.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function layout() {
    W = Math.max(400, document.documentElement.clientWidth || window.innerWidth || 800);
    var avail = Math.max(200, (window.innerHeight || 600) - canvas.getBoundingClientRect().top - 10);
    laneH = Math.max(3, Math.min(60, (avail - AXIS - WORLD - BOTTOM) / Math.max(N, 1)));
    H = Math.round(AXIS + WORLD + laneH * N + BOTTOM);
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    canvas.style.width = W + 'px'; canvas.style.height = H + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function niceStep(span, px) {
    var raw = span / Math.max(2, px / 90), p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  function arrowHead(path, xa, ya, xb, yb) {
    var a = Math.atan2(yb - ya, xb - xa), L = 6;
    path.moveTo(xb, yb); path.lineTo(xb - L * Math.cos(a - 0.4), yb - L * Math.sin(a - 0.4));
    path.moveTo(xb, yb); path.lineTo(xb - L * Math.cos(a + 0.4), yb - L * Math.sin(a + 0.4));
  }

  function draw() {
    var started = window.performance ? performance.now() : 0;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#fff'; ctx.fillRect(LEFT, AXIS, W - LEFT - RIGHT, H - AXIS - BOTTOM);
    var k, b, x0, x1;
    // Network bands (blocked / clogged links) over the lanes they involve.
    for (k = 0; k < D.net_bands.length; ++k) {
      b = D.net_bands[k];
      if (b.t1 < v0 || b.t0 > v1) continue;
      x0 = clampX(x(b.t0)); x1 = clampX(x(b.t1));
      ctx.fillStyle = b.kind === 'clog' ? 'rgba(140,80,200,.2)' : 'rgba(240,120,40,.22)';
      ctx.fillRect(x0, AXIS, Math.max(1, x1 - x0), WORLD);
      for (var q = 0; q < b.nodes.length; ++q) ctx.fillRect(x0, laneY(b.nodes[q]) - laneH / 2, Math.max(1, x1 - x0), laneH);
      if (x1 - x0 > 40) { ctx.fillStyle = '#a4500a'; ctx.font = '11px sans-serif'; ctx.fillText((b.kind === 'clog' ? 'clog: ' : 'blocked: ') + (b.label || ''), x0 + 3, AXIS + 14); }
    }
    // Node bands: down (crash -> restart) and paused (pause -> resume).
    for (k = 0; k < D.bands.length; ++k) {
      b = D.bands[k];
      if (b.t1 < v0 || b.t0 > v1) continue;
      x0 = clampX(x(b.t0)); x1 = clampX(x(b.t1));
      ctx.fillStyle = b.kind === 'down' ? 'rgba(90,90,90,.35)' : 'rgba(230,190,40,.45)';
      ctx.fillRect(x0, laneY(b.node) - laneH / 2 + 1, Math.max(1, x1 - x0), laneH - 2);
    }
    // Lanes.
    ctx.strokeStyle = '#ddd'; ctx.lineWidth = 1; ctx.beginPath();
    for (k = -1; k < N; ++k) { var y = Math.round(laneY(k)) + 0.5; ctx.moveTo(LEFT, y); ctx.lineTo(W - RIGHT, y); }
    ctx.stroke();
    ctx.fillStyle = '#333'; ctx.font = '12px sans-serif'; ctx.textBaseline = 'middle';
    ctx.fillText('world', 6, laneY(-1));
    var labelEvery = Math.max(1, Math.ceil(12 / laneH));
    for (k = 0; k < N; k += labelEvery) ctx.fillText('node ' + k, 6, laneY(k));
    // Messages in the window (t0 sorted; none lasts longer than maxDur).
    var first = lowerBound(M.t0, v0 - maxDur), last = lowerBound(M.t0, v1 + 1);
    var cand = last - first;
    var pDel = new Path2D(), pDrop = new Path2D(), pX = new Path2D(), pCor = new Path2D(), pFly = new Path2D();
    var heads = cand <= 4000;
    visible = 0;
    for (i = first; i < last; ++i) {
      var t1 = M.t1[i] >= 0 ? M.t1[i] : endUs;
      if (t1 < v0) continue;
      ++visible;
      var xa = x(M.t0[i]), ya = laneY(M.from[i]), xb = x(t1), yb;
      var fate = M.fate[i];
      if (fate === 1 && M.end[i] === M.from[i]) yb = ya + (laneY(M.to[i]) - ya) * 0.3;  // dropped at the sender
      else yb = laneY(M.end[i]);
      var p = fate === 1 ? pDrop : fate === 2 ? pFly : (M.flags[i] & 2) ? pCor : pDel;
      p.moveTo(xa, ya); p.lineTo(xb, yb);
      if (fate === 1) { pX.moveTo(xb - 4, yb - 4); pX.lineTo(xb + 4, yb + 4); pX.moveTo(xb - 4, yb + 4); pX.lineTo(xb + 4, yb - 4); }
      else if (heads && fate === 0) arrowHead(p, xa, ya, xb, yb);
    }
    ctx.save();
    ctx.beginPath(); ctx.rect(LEFT, AXIS, W - LEFT - RIGHT, H - AXIS); ctx.clip();
    ctx.lineWidth = 1;
    ctx.strokeStyle = 'rgba(43,108,176,' + (visible > 20000 ? 0.25 : 0.8) + ')'; ctx.stroke(pDel);
    ctx.strokeStyle = '#e08a00'; ctx.stroke(pCor);
    ctx.strokeStyle = '#999'; ctx.setLineDash([4, 3]); ctx.stroke(pFly); ctx.setLineDash([]);
    ctx.strokeStyle = 'rgba(221,51,51,.85)'; ctx.stroke(pDrop);
    // Faults: a triangle on the node's lane (or the world lane).
    ctx.fillStyle = '#222'; ctx.font = '11px sans-serif'; ctx.textBaseline = 'bottom';
    var shownFaults = 0;
    for (k = 0; k < D.faults.length; ++k) if (D.faults[k].t >= v0 && D.faults[k].t <= v1) ++shownFaults;
    for (k = 0; k < D.faults.length; ++k) {
      var f = D.faults[k];
      if (f.t < v0 || f.t > v1) continue;
      var fx = x(f.t), fy = laneY(f.node) - Math.min(laneH, WORLD) / 2 + 1;
      ctx.beginPath(); ctx.moveTo(fx - 5, fy); ctx.lineTo(fx + 5, fy); ctx.lineTo(fx, fy + 8); ctx.closePath(); ctx.fill();
      // Label the scenario's faults ("crash at 8.000s node 1" -> "crash");
      // the simulator's own notes (clock.*, disk.*) only get a tooltip.
      if (shownFaults <= 40 && laneH >= 14 && f.text.indexOf(' at ') > 0) ctx.fillText(f.text.split(' at ')[0], fx + 6, fy + 10);
    }
    // Violations: a red line across every lane and a dot on the node's.
    ctx.strokeStyle = '#c00'; ctx.fillStyle = '#c00'; ctx.lineWidth = 2;
    for (k = 0; k < D.violations.length; ++k) {
      var v = D.violations[k];
      if (v.t < v0 || v.t > v1) continue;
      var vx = Math.round(x(v.t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(vx, AXIS); ctx.lineTo(vx, H - BOTTOM); ctx.stroke();
      ctx.beginPath(); ctx.arc(vx, laneY(v.node), Math.max(3, Math.min(7, laneH / 3)), 0, 2 * Math.PI); ctx.fill();
    }
    // Down / paused bars on top of the messages, so they show at any density.
    ctx.textBaseline = 'top'; ctx.font = '10px sans-serif';
    for (k = 0; k < D.bands.length; ++k) {
      b = D.bands[k];
      if (b.t1 < v0 || b.t0 > v1) continue;
      x0 = clampX(x(b.t0)); x1 = clampX(x(b.t1));
      var bh = Math.max(2, Math.min(6, laneH / 5)), by = laneY(b.node) - bh / 2;
      ctx.fillStyle = b.kind === 'down' ? 'rgba(60,60,60,.85)' : 'rgba(200,150,0,.95)';
      ctx.fillRect(x0, by, Math.max(2, x1 - x0), bh);
      if (x1 - x0 > 110 && laneH >= 18) ctx.fillText(b.kind === 'down' ? 'down' : 'paused', x0 + 60, by + bh + 2);
    }
    ctx.lineWidth = 1.6; ctx.strokeStyle = '#d33'; ctx.stroke(pX);  // drop crosses on top
    ctx.restore();
    // Time axis.
    ctx.fillStyle = '#f4f4f4'; ctx.fillRect(0, 0, W, AXIS);
    ctx.strokeStyle = '#888'; ctx.lineWidth = 1; ctx.fillStyle = '#333'; ctx.font = '11px sans-serif'; ctx.textBaseline = 'alphabetic';
    var step = niceStep(v1 - v0, W - LEFT - RIGHT);
    ctx.beginPath();
    for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      var tx = Math.round(x(t)) + 0.5;
      ctx.moveTo(tx, AXIS - 6); ctx.lineTo(tx, AXIS);
      ctx.fillText(fmtT(t, step), tx + 2, AXIS - 9);
    }
    ctx.moveTo(LEFT, AXIS - 0.5); ctx.lineTo(W - RIGHT, AXIS - 0.5);
    ctx.stroke();
    document.getElementById('window').textContent =
        'window ' + fmtT(v0, (v1 - v0) / 100) + ' .. ' + fmtT(v1, (v1 - v0) / 100) + ' (' + fmtDur(Math.round(v1 - v0)) + ')';
    document.getElementById('render-status').textContent = 'rendered: ' + visible + ' of ' + n + ' messages in view (' +
        (window.performance ? Math.round(performance.now() - started) : '?') + ' ms)';
  }

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    (window.requestAnimationFrame || function (f) { setTimeout(f, 16); })(function () { pending = false; draw(); });
  }
  function setView(a, b) {
    var span = Math.max(10, Math.min(b - a, endUs * 1.2));
    var mid = (a + b) / 2;
    a = mid - span / 2; b = mid + span / 2;
    if (a < -endUs * 0.1) { b += -endUs * 0.1 - a; a = -endUs * 0.1; }
    if (b > endUs * 1.1) { a -= b - endUs * 1.1; b = endUs * 1.1; }
    v0 = a; v1 = b;
    redraw();
  }
  function zoom(factor, atPx) {
    var c = atPx === undefined ? (v0 + v1) / 2 : tAt(atPx);
    setView(c - (c - v0) * factor, c + (v1 - c) * factor);
  }
  function pan(frac) { var d = (v1 - v0) * frac; setView(v0 + d, v1 + d); }

  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect();
    if (ev.shiftKey) pan(ev.deltaY > 0 ? 0.1 : -0.1);
    else zoom(Math.exp(Math.max(-100, Math.min(100, ev.deltaY)) * 0.004), ev.clientX - r.left);
  }, { passive: false });
  var drag = null;
  canvas.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, a: v0, b: v1 }; canvas.classList.add('dragging'); });
  window.addEventListener('mouseup', function () { drag = null; canvas.classList.remove('dragging'); });
  window.addEventListener('mousemove', function (ev) {
    if (drag) {
      var dt = (ev.clientX - drag.x) / (W - LEFT - RIGHT) * (drag.b - drag.a);
      v0 = drag.a - dt; v1 = drag.b - dt; redraw();
      tip.style.display = 'none';
      return;
    }
    var r = canvas.getBoundingClientRect();
    var px = ev.clientX - r.left, py = ev.clientY - r.top;
    if (px < 0 || py < 0 || px > W || py > H) { tip.style.display = 'none'; return; }
    var text = hover(px, py);
    if (!text) { tip.style.display = 'none'; return; }
    tip.textContent = text; tip.style.display = 'block';
    tip.style.left = Math.min(px + 14, W - 260) + 'px'; tip.style.top = (py + 14) + 'px';
  });
  function hover(px, py) {
    var k, best = null, bestD = 7;
    for (k = 0; k < D.violations.length; ++k) {
      var v = D.violations[k], d = Math.abs(x(v.t) - px);
      if (d < bestD) { bestD = d; best = 'violation at ' + fmtT(v.t, 1) + ' node ' + v.node + '\n' + v.text; }
    }
    if (best) return best;
    for (k = 0; k < D.faults.length; ++k) {
      var f = D.faults[k], dx = Math.abs(x(f.t) - px), dy = Math.abs(laneY(f.node) - py);
      if (dx < 7 && dy < Math.max(laneH, WORLD) / 2 && dx < bestD) { bestD = dx; best = 'fault at ' + fmtT(f.t, 1) + (f.node >= 0 ? ' node ' + f.node : ' (world)') + '\n' + f.text; }
    }
    if (best) return best;
    if (visible > 5000) return null;
    var first = lowerBound(M.t0, v0 - maxDur), last = lowerBound(M.t0, v1 + 1), bi = -1;
    bestD = 5;
    for (var j = first; j < last; ++j) {
      var t1 = M.t1[j] >= 0 ? M.t1[j] : endUs;
      var xa = x(M.t0[j]), ya = laneY(M.from[j]), xb = x(t1);
      var yb = M.fate[j] === 1 && M.end[j] === M.from[j] ? ya + (laneY(M.to[j]) - ya) * 0.3 : laneY(M.end[j]);
      var dxs = xb - xa, dys = yb - ya, L2 = dxs * dxs + dys * dys;
      var u = L2 > 0 ? Math.max(0, Math.min(1, ((px - xa) * dxs + (py - ya) * dys) / L2)) : 0;
      var ex = xa + u * dxs - px, ey = ya + u * dys - py, dd = Math.sqrt(ex * ex + ey * ey);
      if (dd < bestD) { bestD = dd; bi = j; }
    }
    if (bi < 0) return null;
    var fate = M.fate[bi] === 0 ? 'delivered' : M.fate[bi] === 1 ? 'dropped (' + (D.reasons[M.reason[bi]] || '?') + ')' : 'in flight at the end';
    return 'message ' + M.from[bi] + ' -> ' + M.to[bi] + ((M.flags[bi] & 1) ? ' (duplicate copy)' : '') +
        ((M.flags[bi] & 2) ? ' (corrupted)' : '') + '\nsent ' + fmtT(M.t0[bi], 1) + '\n' + fate +
        (M.t1[bi] >= 0 ? ' at ' + fmtT(M.t1[bi], 1) + ' (+' + fmtDur(M.t1[bi] - M.t0[bi]) + ')' : '');
  }
  document.getElementById('zin').onclick = function () { zoom(0.5); };
  document.getElementById('zout').onclick = function () { zoom(2); };
  document.getElementById('left').onclick = function () { pan(-0.25); };
  document.getElementById('right').onclick = function () { pan(0.25); };
  document.getElementById('fit').onclick = function () { setView(0, endUs); };
  window.addEventListener('keydown', function (ev) {
    if (ev.key === '+' || ev.key === '=') zoom(0.5);
    else if (ev.key === '-') zoom(2);
    else if (ev.key === 'ArrowLeft') pan(-0.25);
    else if (ev.key === 'ArrowRight') pan(0.25);
    else if (ev.key === '0') setView(0, endUs);
  });
  window.addEventListener('resize', function () { layout(); redraw(); });

  // Header, violation list, truncation note.
  var C = D.counts;
  document.getElementById('title-run').textContent =
      D.scenario + ' seed ' + D.seed + (D.swarm ? ' (swarm)' : '') + ', ' + (D.end_us / 1e6).toFixed(3) + ' s';
  var stats = document.getElementById('stats');
  var verdict = document.createElement('span');
  verdict.className = D.passed ? 'pass' : 'fail';
  verdict.textContent = D.passed ? 'PASS' : 'FAIL (' + D.violation_count + ' violations)';
  stats.appendChild(verdict);
  stats.appendChild(document.createTextNode(
      ' trace_hash=' + D.trace_hash + ' \u2014 sends ' + C.sends + ', delivers ' + C.delivers + ', drops ' + C.drops +
      ', duplicates ' + C.duplicates + ', corrupted ' + C.corrupts + ', crashes ' + C.crashes + ', restarts ' +
      C.restarts + ', pauses ' + C.pauses + ', faults ' + C.faults + '. Wheel: zoom, drag: pan, shift+wheel: pan.'));
  if (D.truncated) {
    document.getElementById('truncated').textContent = 'Truncated: showing the first ' + n + ' of ' + C.messages +
        ' messages (limit kTimelineMessagesMax = ' + D.messages_max + '); counts cover the whole run.';
  }
  var list = document.getElementById('violations');
  function addViolation(text, t) {
    var li = document.createElement('li');
    li.textContent = (t >= 0 ? '[' + fmtT(t, 1) + '] ' : '') + text;
    if (t >= 0) li.onclick = function () { setView(t - 500000, t + 500000); };
    list.appendChild(li);
  }
  for (i = 0; i < D.violations.length; ++i) addViolation(D.violations[i].text, D.violations[i].t);
  for (i = 0; i < D.run_violations.length; ++i) {
    var placed = false;
    for (var k2 = 0; k2 < D.violations.length; ++k2) if (D.violations[k2].text === D.run_violations[i]) placed = true;
    if (!placed) addViolation(D.run_violations[i], -1);
  }

  // An initial window from the URL: timeline.html#t=8.0-8.2 (seconds).
  var hm = /t=([0-9.]+)-([0-9.]+)/.exec(window.location.hash || '');
  if (hm && parseFloat(hm[2]) > parseFloat(hm[1])) { v0 = parseFloat(hm[1]) * 1e6; v1 = parseFloat(hm[2]) * 1e6; }
  window.addEventListener('hashchange', function () {
    var h = /t=([0-9.]+)-([0-9.]+)/.exec(window.location.hash || '');
    if (h && parseFloat(h[2]) > parseFloat(h[1])) setView(parseFloat(h[1]) * 1e6, parseFloat(h[2]) * 1e6);
  });
  layout();
  draw();
  var summary = 'meshsim timeline: ' + N + ' nodes, ' + C.messages + ' messages, ' + C.drops + ' drops, ' +
      D.violations.length + ' violations';
  document.getElementById('summary').textContent = summary;
  if (!document.getElementById('meshsim-error')) document.title = summary;
})();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string timeline_html(const nlohmann::json& data) {
  // ensure_ascii, and every '<' (only ever inside JSON strings) written as
  // backslash-u003c, keep the JSON inert inside <script> ("</script>", "<!--").
  const std::string json = data.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  std::string escaped;
  escaped.reserve(json.size() + 64);
  for (char c : json) {
    if (c == '<') {
      escaped += "\\u003c";
    } else {
      escaped += c;
    }
  }
  const size_t at = kTemplate.find(kPlaceholder);
  std::string page;
  page.reserve(kTemplate.size() + escaped.size());
  page.append(kTemplate.substr(0, at));
  page.append(escaped);
  page.append(kTemplate.substr(at + kPlaceholder.size()));
  return page;
}

}  // namespace meshd::tools
