// Tailor's web UI: one page that reads the REST API (docs/openapi.yaml) and
// draws the jobs list and one job (its stage DAG, its TaskManagers to scale
// over time, its report and logs). Every URL is relative to the page, so it
// works under any path prefix a proxy adds. Data is only ever put in the page
// as text, never as markup.
'use strict';

(function () {
  const ENDED = new Set(['FINISHED', 'FAILED', 'CANCELED']);
  const SVG = 'http://www.w3.org/2000/svg';
  let refreshTimer = null;
  let generation = 0;  // bumped when the view changes; stale answers are dropped

  // --- small helpers ---------------------------------------------------------

  function apiUrl(path) {
    return new URL('../' + path, document.baseURI).toString();
  }

  async function getJson(path) {
    const response = await fetch(apiUrl(path), { headers: { Accept: 'application/json' } });
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (!response.ok) {
      const message = body && body.message ? body.message : text || response.statusText;
      const error = new Error(path + ': ' + response.status + ' ' + message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    setAttributes(node, attrs);
    append(node, children);
    return node;
  }

  function setAttributes(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'data') {
        for (const [name, v] of Object.entries(value)) node.setAttribute('data-' + name, String(v));
      } else if (key === 'onclick' || key === 'onchange') node[key] = value;
      else node.setAttribute(key, String(value));
    }
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }

  function num(value) {
    const n = Number(value);
    return Number.isFinite(n) ? n : 0;
  }

  function fixed(value, digits) {
    return num(value).toFixed(digits);
  }

  function mib(value) {
    const n = num(value);
    if (n >= 1024) return (n / 1024).toFixed(n % 1024 === 0 ? 0 : 1) + ' GiB';
    return (Number.isInteger(n) ? n : n.toFixed(1)) + ' MiB';
  }

  function cpus(value) {
    const n = num(value);
    return (Number.isInteger(n) ? n : n.toFixed(2)) + (n === 1 ? ' cpu' : ' cpus');
  }

  function profile(resources) {
    if (!resources) return '';
    let text = cpus(resources.cpus) + ', ' + mib(resources.mem);
    if (num(resources.gpus) > 0) text += ', ' + num(resources.gpus) + ' gpu';
    return text;
  }

  function clock(seconds) {
    if (!num(seconds)) return '';
    const date = new Date(num(seconds) * 1000);
    return date.toLocaleString(undefined, { hour12: false });
  }

  function duration(seconds) {
    const s = num(seconds);
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + Math.round(s - m * 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }

  function stateBadge(state) {
    return el('span', { class: 'state ' + state, text: state });
  }

  function showProblem(message) {
    const box = document.getElementById('problem');
    box.textContent = message || '';
    box.hidden = !message;
  }

  function schedule(seconds, again) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(again, seconds * 1000);
  }

  // --- overview (header) -----------------------------------------------------

  async function renderOverview(mine) {
    const overview = await getJson('v1/overview');
    if (mine !== generation) return;
    const nav = document.getElementById('overview');
    const parts = [];
    for (const [state, count] of Object.entries(overview.jobs || {})) {
      if (count > 0) parts.push(el('span', { data: { state: state } }, state.toLowerCase() + ' ', el('b', { text: count })));
    }
    parts.push(el('span', {}, 'JobManagers ', el('b', { text: overview.jobmanagers || 0 })));
    parts.push(el('span', {}, 'TaskManagers ', el('b', { text: overview.taskmanagers || 0 }),
      overview.taskmanagers ? ' (' + profile(overview.resources) + ')' : ''));
    nav.replaceChildren(...parts);
  }

  // --- jobs list -------------------------------------------------------------

  async function jobsView(mine) {
    let list = await getJson('v1/jobs?limit=1000');
    if (list.total > list.jobs.length) {
      list = await getJson('v1/jobs?limit=1000&offset=' + (list.total - 1000));
    }
    if (mine !== generation) return;
    const rows = list.jobs.slice().reverse().map(jobRow);
    const table = el('table', { id: 'jobs' },
      el('thead', {}, el('tr', {},
        ['job', 'name', 'state', 'session', 'priority', 'submitted', 'duration', 'tasks done', 'TaskManagers', '']
          .map((name, i) => el('th', { class: i === 4 || i === 8 ? 'num' : undefined, text: name })))),
      el('tbody', {}, rows));
    const main = document.getElementById('main');
    main.replaceChildren(
      el('h1', { text: 'Jobs' }),
      el('p', { class: 'muted', text: list.total === list.jobs.length ? list.total + ' jobs, newest first'
        : 'the newest ' + list.jobs.length + ' of ' + list.total + ' jobs' }),
      el('section', {}, list.jobs.length ? table : el('p', { class: 'muted', text: 'No jobs yet. Submit one with: tailor submit JOB.yaml' })));
  }

  function jobRow(job) {
    const finished = num(job.tasks_finished), parallelism = num(job.tasks);
    const end = ENDED.has(job.state) ? num(job.finished_at) : Date.now() / 1000;
    const began = num(job.started_at);
    return el('tr', { data: { 'job-id': job.id, state: job.state } },
      el('td', {}, el('a', { href: '#/jobs/' + encodeURIComponent(job.id), text: job.id })),
      el('td', { text: job.name }),
      el('td', {}, stateBadge(job.state)),
      el('td', { text: job.session || '' }),
      el('td', { class: 'num', text: job.priority }),
      el('td', { text: clock(job.submitted_at) }),
      el('td', { text: began ? duration(end - began) : '' }),
      el('td', { data: { finished: finished, total: parallelism } },
        parallelism ? el('span', { class: 'bar' }, el('span', { style: 'width:' + (100 * finished / parallelism) + '%' })) : '',
        parallelism ? finished + '/' + parallelism : ''),
      el('td', { class: 'num', text: ENDED.has(job.state) ? '' : num(job.taskmanagers_running) }),
      el('td', { class: 'wrap error', text: job.error ? job.error.split('\n')[0].slice(0, 120) : '' }));
  }

  // --- one job ---------------------------------------------------------------

  // The sections of a job's page, kept across refreshes so that the log a
  // user opened stays open.
  let jobPage = null;

  function makeJobPage(id) {
    const page = {
      id: id,
      head: el('div', { id: 'job-head' }),
      dag: el('section', { id: 'dag' }),
      stages: el('section', { id: 'stages' }),
      taskmanagers: el('section', { id: 'taskmanagers' }),
      report: el('div', { id: 'report' }),
      logs: el('section', { id: 'logs', class: 'logs' }),
      logChoices: '',
      reportShown: false,
    };
    document.getElementById('main').replaceChildren(
      el('p', {}, el('a', { href: '#/', text: '← all jobs' })),
      page.head,
      el('h2', { text: 'Stages' }), page.dag, page.stages,
      el('h2', { text: 'TaskManagers' }), page.taskmanagers,
      page.report,
      el('h2', { text: 'Logs' }), page.logs);
    return page;
  }

  async function jobView(mine, id) {
    if (!jobPage || jobPage.id !== id) jobPage = makeJobPage(id);
    const page = jobPage;
    const job = await getJson('v1/jobs/' + encodeURIComponent(id));
    let report = null;
    if (ENDED.has(job.state) && job.attempts && job.attempts.length) {
      try {
        report = await getJson('v1/jobs/' + encodeURIComponent(id) + '/report');
      } catch (error) {
        if (error.status !== 404) throw error;  // ended without a report
      }
    }
    if (mine !== generation) return;
    renderJobHead(page, job, report);
    const stages = stagesOf(job, report);
    page.dag.replaceChildren(drawDag(stages));
    page.stages.replaceChildren(stageTable(stages, report));
    page.taskmanagers.replaceChildren(...drawTaskManagers(job, report));
    if (report) {
      page.report.replaceChildren(el('h2', { text: 'Report' }), ...reportSections(report));
    }
    renderLogChoices(page, job, report, stages);
    return ENDED.has(job.state);
  }

  function renderJobHead(page, job, report) {
    const facts = [
      ['id', job.id],
      ['submitted', clock(job.submitted_at)],
      ['started', clock(job.started_at)],
      ['ended', clock(job.finished_at)],
      ['duration', num(job.started_at) ? duration((ENDED.has(job.state) ? num(job.finished_at) : Date.now() / 1000) - num(job.started_at)) : ''],
      ['priority', job.priority],
      ['session', job.session],
      ['JobManager attempts', job.attempt],
      ['queue position', job.queue_position || ''],
      ['sizing', report ? report.sizing : ''],
      ['output', job.output],
    ].filter(([, value]) => value !== '' && value !== undefined && value !== null && value !== 0);
    page.head.replaceChildren(
      el('h1', {}, job.name + ' ', stateBadge(job.state)),
      el('dl', { class: 'facts' }, facts.map(([name, value]) => [el('dt', { text: name }), el('dd', { text: value })])),
      ...(job.error ? [el('p', { class: 'error', id: 'job-error', text: job.error })] : []));
  }

  // The stages with their edges: the live status, else the report's list.
  function stagesOf(job, report) {
    if (job.stages && job.stages.length) return job.stages;
    if (!report) return [];
    return report.stages.map((stage) => ({
      name: stage.name, parallelism: stage.parallelism, finished: 0, running: 0,
      failed_attempts: stage.failed_attempts, inputs: [], complete: false,
    }));
  }

  function stageClass(stage) {
    if (stage.complete) return 'complete';
    if (num(stage.failed_attempts) > 0 && !num(stage.running)) return 'failing';
    if (num(stage.running) > 0) return 'running';
    if (stage.waiting && stage.waiting.reason) return 'waiting';
    return 'idle';
  }

  function waitingText(stage) {
    const waiting = stage.waiting;
    if (!waiting || !waiting.reason) return '';
    return waiting.message || waiting.reason;
  }

  // Stages in columns by depth (a stage sits right of everything it reads).
  function drawDag(stages) {
    if (!stages.length) return el('p', { class: 'muted', text: 'No stages known yet.' });
    const byName = new Map(stages.map((stage) => [stage.name, stage]));
    const depth = new Map();
    const depthOf = (stage, seen) => {
      if (depth.has(stage.name)) return depth.get(stage.name);
      if (seen.has(stage.name)) return 0;
      seen.add(stage.name);
      let d = 0;
      for (const input of stage.inputs || []) {
        const from = byName.get(input);
        if (from) d = Math.max(d, depthOf(from, seen) + 1);
      }
      depth.set(stage.name, d);
      return d;
    };
    const columns = [];
    for (const stage of stages) {
      const d = depthOf(stage, new Set());
      (columns[d] = columns[d] || []).push(stage);
    }
    const W = 190, H = 64, GX = 70, GY = 18, PAD = 10;
    const where = new Map();
    columns.forEach((column, c) => column.forEach((stage, r) => {
      where.set(stage.name, { x: PAD + c * (W + GX), y: PAD + r * (H + GY) });
    }));
    const rows = Math.max(...columns.map((column) => (column || []).length));
    const width = PAD * 2 + columns.length * W + (columns.length - 1) * GX;
    const height = PAD * 2 + rows * H + (rows - 1) * GY;
    const picture = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'stage graph' },
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#9aa2b1' }))));
    for (const stage of stages) {
      const to = where.get(stage.name);
      for (const input of stage.inputs || []) {
        const from = where.get(input);
        if (!from) continue;
        const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x - 2, y2 = to.y + H / 2;
        const mid = (x1 + x2) / 2;
        picture.append(svg('path', { class: 'edge', 'marker-end': 'url(#arrow)', data: { from: input, to: stage.name },
          d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
      }
    }
    for (const stage of stages) {
      const at = where.get(stage.name);
      const done = num(stage.finished), all = Math.max(1, num(stage.parallelism));
      const detail = done + '/' + num(stage.parallelism) + ' done' +
        (num(stage.running) ? ' · ' + num(stage.running) + ' running' : '') +
        (num(stage.failed_attempts) ? ' · ' + num(stage.failed_attempts) + ' failed' : '');
      const wait = waitingText(stage);
      picture.append(svg('g', { class: 'node ' + stageClass(stage), transform: `translate(${at.x},${at.y})`,
        data: { stage: stage.name, finished: done, parallelism: num(stage.parallelism), running: num(stage.running) } },
        svg('title', { text: stage.name + ': ' + detail + (wait ? '\n' + wait : '') }),
        svg('rect', { class: 'box', width: W, height: H, rx: 6 }),
        svg('text', { class: 'name', x: 10, y: 18, text: stage.name }),
        svg('text', { class: 'detail', x: 10, y: 35, text: detail }),
        svg('rect', { x: 10, y: 44, width: W - 20, height: 7, rx: 3, fill: '#d9dde5' }),
        svg('rect', { x: 10, y: 44, width: (W - 20) * Math.min(1, done / all), height: 7, rx: 3, fill: '#2e9d5b' }),
        wait ? svg('text', { class: 'detail waiting', x: 10, y: 62, text: wait.length > 32 ? wait.slice(0, 31) + '…' : wait }) : null));
    }
    return picture;
  }

  function stageTable(stages, report) {
    const reported = new Map(((report && report.stages) || []).map((stage) => [stage.name, stage]));
    return el('table', { id: 'stage-table' },
      el('thead', {}, el('tr', {}, ['stage', 'reads', 'tasks', 'running', 'failed attempts', 'asks per task', 'waiting']
        .map((name, i) => el('th', { class: i === 3 || i === 4 ? 'num' : undefined, text: name })))),
      el('tbody', {}, stages.map((stage) => {
        const done = num(stage.finished), all = num(stage.parallelism);
        const asked = reported.get(stage.name);
        return el('tr', { data: { stage: stage.name } },
          el('td', { text: stage.name }),
          el('td', { text: (stage.inputs || []).join(', ') }),
          el('td', {}, el('span', { class: 'bar' }, el('span', { style: 'width:' + (all ? 100 * done / all : 0) + '%' })), done + '/' + all),
          el('td', { class: 'num', text: num(stage.running) }),
          el('td', { class: 'num', text: num(stage.failed_attempts) }),
          el('td', { text: asked ? profile(asked.resources) : '' }),
          el('td', { class: 'wrap waiting', data: { reason: (stage.waiting && stage.waiting.reason) || '' }, text: waitingText(stage) }));
      })));
  }

  // Each TaskManager is a lane as tall as its memory and as long as it was
  // held; inside, each task attempt that ran on it as the slot it asked for
  // and, darker, the memory it used at its peak.
  function drawTaskManagers(job, report) {
    const live = new Map((job.taskmanagers || []).map((tm) => [tm.id, tm]));
    const list = report ? report.taskmanagers.map((tm) => Object.assign({}, live.get(tm.id) || {}, tm,
      { state: (live.get(tm.id) || {}).state || tm.exit })) : (job.taskmanagers || []);
    if (!list.length) return [el('p', { class: 'muted', text: 'No TaskManager yet.' })];
    const now = Date.now() / 1000;
    const ended = ENDED.has(job.state) ? num(job.finished_at) || now : now;
    const start = (tm) => num(tm.registered_at) || num(tm.launched_at) || num(job.started_at) || ended;
    const stop = (tm) => num(tm.released_at) || ended;
    const t0 = Math.min(...list.map(start));
    const t1 = Math.max(t0 + 0.001, ...list.map(stop));
    const maxMem = Math.max(...list.map((tm) => num(tm.resources && tm.resources.mem)), 1);
    // Heights are exactly to scale (the largest TaskManager MAXH px tall);
    // a row is at least as tall as its label.
    const LABEL = 200, WIDTH = 760, MAXH = 72, MINH = 2, ROW = 16, GAP = 6, TOP = 22;
    const x = (t) => LABEL + (Math.max(t0, Math.min(t1, t)) - t0) / (t1 - t0) * WIDTH;
    const attempts = (report && report.attempts) || [];
    let y = TOP;
    const lanes = [];
    for (const tm of list) {
      const mem = num(tm.resources && tm.resources.mem);
      const h = Math.max(MINH, mem / maxMem * MAXH);
      const scale = h / Math.max(mem, 1);
      const lane = svg('g', { class: 'lane', data: { tm: tm.id, mem: mem, cpus: num(tm.resources && tm.resources.cpus), state: tm.state || '' } },
        svg('title', { text: tm.id + ': ' + profile(tm.resources) + (tm.state ? ' · ' + tm.state : '') }),
        svg('text', { class: 'lane-label', x: 0, y: y + 11, text: tm.id + ' · ' + profile(tm.resources) }),
        svg('rect', { class: 'held', x: x(start(tm)), y: y, width: Math.max(1, x(stop(tm)) - x(start(tm))), height: h }));
      for (const { attempt, below } of stackAttempts(attempts.filter((a) => a.taskmanager === tm.id), ended)) {
        // Attempts that ran at the same time sit on top of each other, each
        // as tall as the memory its slot asked for.
        const base = Math.min(h, below * scale);
        const asked = Math.min(h - base, num(attempt.resources && attempt.resources.mem) * scale);
        const used = Math.min(asked, num(attempt.usage && attempt.usage.peak_mem_mib) * scale);
        const ax = x(num(attempt.started_at)), aw = Math.max(1, x(num(attempt.finished_at) || ended) - ax);
        const usage = attempt.usage || {};
        const bottom = y + h - base;
        lane.append(svg('g', { class: 'attempt', data: { task: attempt.stage + '[' + attempt.index + ']', attempt: attempt.attempt } },
          svg('title', { text: `${attempt.stage}[${attempt.index}] attempt ${attempt.attempt}: asked ${profile(attempt.resources)}, ` +
            `used ${fixed(usage.cpu_seconds, 2)} cpu-seconds, ${mib(Math.round(num(usage.peak_mem_mib)))} at peak` }),
          svg('rect', { class: 'asked', x: ax, y: bottom - asked, width: aw, height: asked }),
          used > 0 ? svg('rect', { class: 'used', x: ax, y: bottom - used, width: aw, height: used }) : null));
      }
      lanes.push(lane);
      y += Math.max(h, ROW) + GAP;
    }
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => svg('g', {},
      svg('line', { class: 'axis', x1: LABEL + f * WIDTH, y1: TOP - 6, x2: LABEL + f * WIDTH, y2: y }),
      svg('text', { class: 'lane-label', x: LABEL + f * WIDTH, y: 11, 'text-anchor': f === 1 ? 'end' : f === 0 ? 'start' : 'middle',
        text: duration(f * (t1 - t0)) })));
    const picture = svg('svg', { width: LABEL + WIDTH + 10, height: y + 4, role: 'img', 'aria-label': 'TaskManagers over time' },
      ticks, lanes);
    const table = el('table', { id: 'tm-table' },
      el('thead', {}, el('tr', {}, ['TaskManager', 'size', 'slots', 'state', 'held for', 'tasks run', 'address']
        .map((name, i) => el('th', { class: i === 2 || i === 5 ? 'num' : undefined, text: name })))),
      el('tbody', {}, list.map((tm) => el('tr', { data: { tm: tm.id } },
        el('td', { text: tm.id }),
        el('td', { text: profile(tm.resources) }),
        el('td', { class: 'num', text: num(tm.slots) }),
        el('td', { text: tm.state || '' }),
        el('td', { text: duration(stop(tm) - start(tm)) }),
        el('td', { class: 'num', text: tm.tasks_run === undefined ? '' : num(tm.tasks_run) }),
        el('td', { text: tm.address || '' })))));
    return [
      el('div', { class: 'legend' },
        el('span', {}, el('i', { style: 'background:var(--held)' }), 'TaskManager held (height: its memory)'),
        el('span', {}, el('i', { style: 'background:var(--asked)' }), 'memory a task asked for'),
        el('span', {}, el('i', { style: 'background:var(--used)' }), 'memory it used at its peak')),
      picture, table];
  }

  // Places the attempts of one TaskManager: each at the lowest height (in
  // MiB) free of the attempts that overlap it in time, in start order, so
  // that slots used at once are drawn one above the other.
  function stackAttempts(list, ended) {
    const placed = [];
    const end = (a) => num(a.finished_at) || ended;
    for (const attempt of list.slice().sort((a, b) => num(a.started_at) - num(b.started_at))) {
      const size = num(attempt.resources && attempt.resources.mem);
      const busy = placed.filter((p) => num(p.attempt.started_at) < end(attempt) && end(p.attempt) > num(attempt.started_at))
        .sort((a, b) => a.below - b.below);
      let below = 0;
      for (const other of busy) {
        if (below + size <= other.below) break;
        below = Math.max(below, other.below + num(other.attempt.resources && other.attempt.resources.mem));
      }
      placed.push({ attempt: attempt, below: below });
    }
    return placed;
  }

  function reportSections(report) {
    const totals = report.totals || {};
    const allocated = totals.allocated || {}, requested = totals.requested || {};
    const summary = el('section', { id: 'report-summary' }, el('dl', { class: 'facts' },
      el('dt', { text: 'status' }), el('dd', {}, stateBadge(report.job.status)),
      el('dt', { text: 'duration' }), el('dd', { text: duration(report.job.duration_seconds) }),
      el('dt', { text: 'TaskManagers' }), el('dd', { data: { count: report.taskmanagers.length }, text: report.taskmanagers.length }),
      el('dt', { text: 'task attempts' }), el('dd', { text: (report.attempts || []).length }),
      el('dt', { text: 'held by TaskManagers' }), el('dd', { id: 'allocated', text: fixed(allocated.cpu_seconds, 2) + ' cpu-seconds, ' + fixed(allocated.mem_mib_seconds, 0) + ' MiB-seconds' }),
      el('dt', { text: 'asked by tasks' }), el('dd', { id: 'requested', text: fixed(requested.cpu_seconds, 2) + ' cpu-seconds, ' + fixed(requested.mem_mib_seconds, 0) + ' MiB-seconds' })));
    const usage = el('section', { id: 'usage' }, el('table', {},
      el('thead', {}, el('tr', {}, ['stage', 'tasks', 'attempts', 'failed', 'asked per task', 'used at most', 'cpu-seconds', 'recommended', 'why']
        .map((name, i) => el('th', { class: i >= 1 && i <= 3 || i === 6 ? 'num' : undefined, text: name })))),
      el('tbody', {}, report.stages.map((stage) => {
        const used = stage.usage || {};
        return el('tr', { data: { stage: stage.name, attempts: stage.attempts, 'cpu-seconds': fixed(used.cpu_seconds, 2) } },
          el('td', { text: stage.name }),
          el('td', { class: 'num', text: stage.parallelism }),
          el('td', { class: 'num', text: stage.attempts }),
          el('td', { class: 'num', text: stage.failed_attempts }),
          el('td', { text: profile(stage.resources) }),
          el('td', { text: used.max_peak_mem_mib !== undefined ? cpus(fixed(used.max_cpus_used, 2)) + ', ' + mib(Math.round(num(used.max_peak_mem_mib))) : '' }),
          el('td', { class: 'num', text: used.cpu_seconds !== undefined ? fixed(used.cpu_seconds, 2) : '' }),
          el('td', { text: used.recommended ? profile(used.recommended) : '' }),
          el('td', { class: 'wrap muted', text: used.recommendation || '' }));
      }))));
    return [summary, usage];
  }

  // --- logs ------------------------------------------------------------------

  function renderLogChoices(page, job, report, stages) {
    const choices = [['', 'JobManager']];
    if (report && report.attempts && report.attempts.length) {
      for (const a of report.attempts) {
        choices.push([`${a.stage}[${a.index}]&attempt=${a.attempt}`, `${a.stage}[${a.index}] attempt ${a.attempt} on ${a.taskmanager}`]);
      }
    } else {
      for (const stage of stages) {
        for (let i = 0; i < Math.min(num(stage.parallelism), 64); i++) {
          choices.push([`${stage.name}[${i}]`, `${stage.name}[${i}] (latest attempt)`]);
        }
      }
    }
    const key = choices.map((c) => c[0]).join('|');
    if (key === page.logChoices) return;
    page.logChoices = key;
    const select = el('select', { id: 'log-choice' }, choices.map(([value, label]) => el('option', { value: value, text: label })));
    const out = el('pre', { class: 'log', id: 'log-text', text: 'Choose a log and press Show.' });
    const show = async () => {
      const choice = select.value;
      let path = 'v1/jobs/' + encodeURIComponent(page.id) + '/log?tail=65536';
      if (choice) {
        const [task, attempt] = choice.split('&attempt=');
        path += '&task=' + encodeURIComponent(task) + (attempt ? '&attempt=' + attempt : '');
      }
      out.textContent = 'Loading…';
      try {
        const chunk = await getJson(path);
        out.textContent = chunk.data || '(empty)';
        out.scrollTop = out.scrollHeight;
      } catch (error) {
        out.textContent = error.message;
      }
    };
    page.logs.replaceChildren(select, el('button', { type: 'button', id: 'log-show', onclick: show, text: 'Show' }), out);
  }

  // --- routing ---------------------------------------------------------------

  async function render() {
    const mine = ++generation;
    clearTimeout(refreshTimer);
    const hash = location.hash || '#/';
    const match = /^#\/jobs\/([^/]+)$/.exec(hash);
    if (!match) jobPage = null;
    const turn = async () => {
      if (mine !== generation) return;
      let ended = false;
      try {
        await renderOverview(mine);
        if (match) ended = await jobView(mine, decodeURIComponent(match[1]));
        else await jobsView(mine);
        showProblem('');
      } catch (error) {
        showProblem('Could not reach the API: ' + error.message);
      }
      if (mine === generation && !ended) schedule(match ? 1 : 2, turn);
      // Turns drawn so far, for tests to wait on.
      document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    };
    await turn();
  }

  window.addEventListener('hashchange', render);
  render();
})();
