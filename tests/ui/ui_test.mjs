// Drives the web UI in a real headless Chromium and checks what it draws
// against what the REST API says, through the same base URL (so behind a
// proxy's path prefix too). Used by tests/e2e/web_ui.sh:
//
//   node ui_test.mjs list BASE OUT SHOT             the jobs list
//   node ui_test.mjs job BASE OUT SHOT JOB running  a running job: DAG, TaskManagers
//   node ui_test.mjs job BASE OUT SHOT JOB ended    an ended job: DAG, report's numbers
//
// BASE is where the Dispatcher is reached ("http://host:port" or with a
// prefix, "http://host:port/service/tailor"); the page is BASE/ui/ (with
// ENTER_AT_ROOT=1, reached from BASE/ by its redirect).
// SHOT.png is written in OUT. Exits non-zero with what differed, or when the
// page logged an error, threw, or got an answer of 400 or more.
import { chromium } from 'playwright-core';

const [mode, base, out, shot, jobId, phase] = process.argv.slice(2);
const problems = [];
const expect = (condition, what) => { if (!condition) problems.push(what); };

async function api(path) {
  const response = await fetch(base + '/' + path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.on('console', (message) => {
  if (message.type() === 'error') problems.push('console error: ' + message.text());
});
page.on('pageerror', (error) => problems.push('page error: ' + error.message));
page.on('requestfailed', (request) => problems.push('request failed: ' + request.url()));
page.on('response', (response) => {
  if (response.status() >= 400) problems.push(`answer ${response.status()} for ${response.url()}`);
});

// Loads a view and waits until the page has drawn it.
async function open(hash) {
  // From BASE/ (its redirect leads to the UI only where the external base
  // path is the one the browser uses: behind the proxy), else BASE/ui/.
  await page.goto(base + (process.env.ENTER_AT_ROOT === '1' ? '/' : '/ui/'), { waitUntil: 'load' });
  expect(new URL(page.url()).pathname === new URL(base).pathname.replace(/\/$/, '') + '/ui/',
    `went to ${page.url()}, not BASE/ui/`);
  if (hash) {
    await page.waitForFunction(() => Number(document.body.dataset.rendered || 0) >= 1, null, { timeout: 20000 });
    await page.evaluate((h) => { document.body.dataset.rendered = '0'; location.hash = h; }, hash);
  }
  await page.waitForFunction(() => Number(document.body.dataset.rendered || 0) >= 1, null, { timeout: 20000 });
  // Views of live things draw again every second or two: let one more turn
  // happen, which must draw without error too.
  await page.waitForTimeout(2500);
  expect(await page.locator('#problem').isHidden(), 'the page shows a problem: ' +
    await page.locator('#problem').textContent());
}

const textOf = (locator) => locator.textContent().then((t) => (t || '').trim());

try {
  if (mode === 'list') {
    const list = await api('v1/jobs?limit=1000');
    await open('');
    const rows = page.locator('#jobs tbody tr');
    expect(await rows.count() === list.jobs.length, `${await rows.count()} rows for ${list.jobs.length} jobs`);
    for (const job of list.jobs) {
      const row = page.locator(`#jobs tr[data-job-id="${job.id}"]`);
      expect(await row.count() === 1, `job ${job.id} not listed`);
      if (await row.count() !== 1) continue;
      const state = await row.getAttribute('data-state');
      // A running job may have moved on between the two reads.
      expect(state === job.state || !['FINISHED', 'FAILED', 'CANCELED'].includes(job.state),
        `job ${job.id}: state ${state}, the API says ${job.state}`);
      expect((await textOf(row.locator('td').nth(1))) === job.name, `job ${job.id}: name differs`);
      if (['FINISHED', 'FAILED', 'CANCELED'].includes(job.state)) {
        const progress = row.locator('td').nth(7);
        expect(await progress.getAttribute('data-finished') === String(job.tasks_finished) &&
          await progress.getAttribute('data-total') === String(job.tasks), `job ${job.id}: tasks done differ`);
      }
    }
    // Ended jobs only grow in number: what the page shows lies between the
    // counts read before and after it.
    const before = await api('v1/overview');
    await page.waitForTimeout(2500);
    const shownCounts = {};
    for (const state of ['FINISHED', 'FAILED', 'CANCELED']) {
      const badge = page.locator(`#overview [data-state="${state}"] b`);
      shownCounts[state] = (await badge.count()) ? Number(await textOf(badge)) : 0;
    }
    const after = await api('v1/overview');
    for (const state of ['FINISHED', 'FAILED', 'CANCELED']) {
      const shown = shownCounts[state];
      expect(shown >= before.jobs[state] && shown <= after.jobs[state],
        `overview: ${state} ${shown}, the API says ${before.jobs[state]} then ${after.jobs[state]}`);
    }
  } else if (mode === 'job') {
    await open('#/jobs/' + encodeURIComponent(jobId));
    const job = await api('v1/jobs/' + encodeURIComponent(jobId));
    const facts = await page.locator('#job-head dl.facts dd').allTextContents();
    expect(facts.includes(job.id), 'the job\'s facts are not shown: ' + facts.join(' | '));
    expect((await textOf(page.locator('#job-head h1 .state'))) === job.state ||
      phase === 'running', `state shown differs from ${job.state}`);
    // The DAG: one node per stage, one edge per input.
    const nodes = page.locator('#dag g.node');
    expect(await nodes.count() === job.stages.length, `${await nodes.count()} DAG nodes for ${job.stages.length} stages`);
    let edges = 0;
    for (const stage of job.stages) {
      edges += (stage.inputs || []).length;
      const node = page.locator(`#dag g.node[data-stage="${stage.name}"]`);
      expect(await node.count() === 1, `stage ${stage.name} has no node`);
      expect(await node.getAttribute('data-parallelism') === String(stage.parallelism),
        `stage ${stage.name}: parallelism differs`);
      for (const input of stage.inputs || []) {
        expect(await page.locator(`#dag path.edge[data-from="${input}"][data-to="${stage.name}"]`).count() === 1,
          `no edge ${input} -> ${stage.name}`);
      }
      if (phase === 'ended') {
        expect(await node.getAttribute('data-finished') === String(stage.finished),
          `stage ${stage.name}: ${await node.getAttribute('data-finished')} finished shown, ${stage.finished} reported`);
      }
    }
    expect(await page.locator('#dag path.edge').count() === edges, 'edge count differs');
    // TaskManagers: one lane each, as tall as its memory says.
    const lanes = page.locator('#taskmanagers g.lane');
    if (phase === 'running') {
      // Why stages wait, as the page draws it: it refreshes every second, so
      // 1.5 s after a read of the API it shows that state or a later one
      // (read again after); it must match one of the two.
      const reasons = (view) => view.stages.map((stage) => (stage.waiting && stage.waiting.reason) || '');
      let mismatch = '';
      for (let round = 0; round < 5; round++) {
        const said = await api('v1/jobs/' + encodeURIComponent(jobId));
        await page.waitForTimeout(1500);
        const shown = [];
        for (const stage of said.stages) {
          shown.push(await page.locator(`#stage-table tr[data-stage="${stage.name}"] td[data-reason]`).getAttribute('data-reason'));
          // A stage reading from one not complete waits for its inputs.
          const blocked = (stage.inputs || []).some((input) => !said.stages.find((s) => s.name === input).complete);
          if (blocked && stage.finished < stage.parallelism) {
            expect(stage.waiting && stage.waiting.reason === 'inputs', `stage ${stage.name} reads from an incomplete stage but does not wait for inputs`);
          }
        }
        const now = await api('v1/jobs/' + encodeURIComponent(jobId));
        const match = JSON.stringify(shown) === JSON.stringify(reasons(said)) || JSON.stringify(shown) === JSON.stringify(reasons(now));
        mismatch = match ? '' : `waiting shown ${JSON.stringify(shown)}, the API says ${JSON.stringify(reasons(said))} then ${JSON.stringify(reasons(now))}`;
        if (match) break;
      }
      expect(!mismatch, mismatch);
      expect(job.taskmanagers.length > 0, 'the running job has no TaskManager yet');
      for (const tm of job.taskmanagers) {
        const lane = page.locator(`#taskmanagers g.lane[data-tm="${tm.id}"]`);
        expect(await lane.count() === 1, `TaskManager ${tm.id} not drawn`);
        if (await lane.count() === 1) {
          expect(Number(await lane.getAttribute('data-mem')) === tm.resources.mem, `TaskManager ${tm.id}: memory differs`);
        }
      }
    } else {
      const report = await api('v1/jobs/' + encodeURIComponent(jobId) + '/report');
      expect(await lanes.count() === report.taskmanagers.length,
        `${await lanes.count()} TaskManager lanes for ${report.taskmanagers.length} in the report`);
      const heights = [];
      for (const tm of report.taskmanagers) {
        const lane = page.locator(`#taskmanagers g.lane[data-tm="${tm.id}"]`);
        expect(await lane.count() === 1, `TaskManager ${tm.id} not drawn`);
        if (await lane.count() !== 1) continue;
        heights.push([tm.resources.mem, Number(await lane.locator('rect.held').getAttribute('height'))]);
        expect(await lane.locator('g.attempt').count() ===
          report.attempts.filter((a) => a.taskmanager === tm.id).length, `TaskManager ${tm.id}: attempts drawn differ`);
      }
      // Drawn to scale: height over memory is the same for every lane above
      // the least height (2 px, so that a small one stays visible).
      const ratios = heights.filter(([, h]) => h > 2.01).map(([mem, h]) => h / mem);
      expect(ratios.every((r) => Math.abs(r / ratios[0] - 1) < 0.02), 'lanes are not drawn to scale: ' + JSON.stringify(heights));
      expect((await textOf(page.locator('#report-summary [data-count]'))) === String(report.taskmanagers.length),
        'report: TaskManager count differs');
      expect((await textOf(page.locator('#allocated'))).startsWith(report.totals.allocated.cpu_seconds.toFixed(2) + ' cpu-seconds'),
        `report: allocated shown "${await textOf(page.locator('#allocated'))}", the report says ${report.totals.allocated.cpu_seconds}`);
      for (const stage of report.stages) {
        const row = page.locator(`#usage tr[data-stage="${stage.name}"]`);
        expect(await row.count() === 1, `report: no usage row for ${stage.name}`);
        if (await row.count() !== 1) continue;
        expect(await row.getAttribute('data-attempts') === String(stage.attempts), `report: ${stage.name} attempts differ`);
        const cpu = stage.usage ? stage.usage.cpu_seconds : 0;
        expect(await row.getAttribute('data-cpu-seconds') === Number(cpu).toFixed(2), `report: ${stage.name} cpu-seconds differ`);
      }
      // A task's log, read through the page.
      const first = report.attempts[0];
      await page.selectOption('#log-choice', `${first.stage}[${first.index}]&attempt=${first.attempt}`);
      await page.click('#log-show');
      await page.waitForFunction(() => !document.querySelector('#log-text').textContent.startsWith('Loading'));
      const log = await textOf(page.locator('#log-text'));
      expect(!/: [45]\d\d /.test(log), 'the task log did not load: ' + log.slice(0, 200));
    }
  } else {
    problems.push('unknown mode ' + mode);
  }
  await page.screenshot({ path: `${out}/${shot}.png`, fullPage: true });
} catch (error) {
  problems.push(String(error && error.stack || error));
  await page.screenshot({ path: `${out}/${shot}-failed.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}

if (problems.length) {
  console.error(`FAIL ${mode} ${shot}:\n  ` + problems.join('\n  '));
  process.exit(1);
}
console.log(`ok ${mode} ${shot}`);
