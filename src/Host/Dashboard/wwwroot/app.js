// The dashboard of `verified serve`: a runs list, a new-run form, a run page with live charts and the codec audit, and
// a comparison of runs. Plain browser JavaScript over the service's JSON API (docs/service.md); no build step, no
// framework, nothing fetched from anywhere but this origin (the page's Content-Security-Policy is default-src 'self').
// The page's state lives in the URL's fragment (#/runs?status=…, #/runs/7, #/compare?runs=1,2&x=bytes), so a link or a
// reload shows the same view.
'use strict';

(() => {
  const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
  const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
  const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
  // Spec fields a comparison leaves out: derived from the others (the label, the bits actually sent).
  const DERIVED = new Set(['label', 'effectiveBits']);
  // The audit table's bands (docs/dashboard.md). Codec: the measured rounding variance against its exact expectation
  // given the gradient: a mean of d independent rounding errors whose relative standard error is about 1.1/√d, so ±5 %
  // is over 4.5 standard errors for d ≥ 10⁴ (every model here); outside it the codec is at fault. Model: measured
  // against what the fitted model predicts, beyond a factor of 2 either way: the fit, not the codec (real gradients have
  // heavier tails than a Laplace fit assumes).
  const CODEC_BAND = 0.05;
  const MODEL_FACTOR = 2;

  const main = document.getElementById('main');
  const banner = document.getElementById('banner');
  const state = { token: sessionStorage.getItem('verified-token') || '', tokenPrompt: null, cleanup: [] };

  // The chart instances of the current page by name, for anyone who wants the exact data a chart draws (the browser
  // tests compare it with /metrics).
  window.verifiedCharts = {};

  // ---------- DOM ----------

  /** An element with attributes (on… as listeners, data-… and aria-… as attributes) and children (strings become text). */
  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
      else if (name === 'class') element.className = value;
      else if (name === 'text') element.textContent = value;
      // `list` and `form` are read-only properties (their attributes name other elements).
      else if (name in element && !name.includes('-') && name !== 'list' && name !== 'form') element[name] = value;
      else element.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  function showError(message) {
    banner.textContent = message;
    banner.hidden = false;
  }

  function clearError() {
    banner.hidden = true;
    banner.textContent = '';
  }

  // ---------- numbers ----------

  const fixed = (value, digits) => (value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits));
  const percent = (value) => (value === null || value === undefined ? '–' : (100 * value).toFixed(2) + ' %');
  const megabytes = (bytes) => (bytes === null || bytes === undefined ? '–' : (bytes / 1e6).toFixed(2) + ' MB');
  const general = (value) => {
    if (value === null || value === undefined || !Number.isFinite(value)) return '–';
    const magnitude = Math.abs(value);
    return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(3) : value.toPrecision(4);
  };
  const when = (text) => (text ? new Date(text).toLocaleString() : '–');

  // ---------- the API ----------

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem && (problem.detail || problem.title) ? `${problem.title || ''} ${problem.detail || ''}`.trim() : `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  /** fetch() with the token (if one is set); a 401 asks for the token and tries again. */
  async function api(path, options = {}) {
    for (;;) {
      const headers = new Headers(options.headers || {});
      if (state.token) headers.set('Authorization', 'Bearer ' + state.token);
      const response = await fetch(path, { ...options, headers });
      if (response.status !== 401) return response;
      await askForToken(state.token ? 'The service refused this token. Enter the service\'s API token.' : '');
    }
  }

  async function problemOf(response) {
    try { return await response.json(); } catch { return {}; }
  }

  async function getJson(path, options) {
    const response = await api(path, options);
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response.json();
  }

  /** Every page of GET /api/runs (the API pages at most 1000). */
  async function allRuns(status) {
    const runs = [];
    let next = '/api/runs?limit=1000' + (status ? '&status=' + encodeURIComponent(status) : '');
    while (next) {
      const page = await getJson(next);
      runs.push(...page.runs);
      next = page.next;
    }
    return runs;
  }

  function askForToken(message) {
    if (state.tokenPrompt) return state.tokenPrompt;
    const dialog = document.getElementById('token-dialog');
    const input = document.getElementById('token-input');
    const error = document.getElementById('token-error');
    error.textContent = message || '';
    error.hidden = !message;
    input.value = '';
    state.tokenPrompt = new Promise((resolve) => {
      const form = document.getElementById('token-form');
      const submitted = (event) => {
        event.preventDefault();
        if (!input.value.trim()) return;
        state.token = input.value.trim();
        sessionStorage.setItem('verified-token', state.token);
        document.getElementById('token-button').hidden = false;
        form.removeEventListener('submit', submitted);
        dialog.close();
        state.tokenPrompt = null;
        resolve();
      };
      form.addEventListener('submit', submitted);
    });
    if (!dialog.open) dialog.showModal();
    input.focus();
    return state.tokenPrompt;
  }

  /**
   * Follows GET /api/runs/{id}/events with fetch (EventSource cannot send the token), resuming after `after` with
   * Last-Event-ID, and again after a dropped connection. Calls onRound(row) per round and onEnd(run) once.
   */
  function followEvents(id, after, onRound, onEnd) {
    const controller = new AbortController();
    let last = after;
    let ended = false;
    const run = async () => {
      while (!ended && !controller.signal.aborted) {
        try {
          const response = await api(`/api/runs/${id}/events`, {
            headers: { Accept: 'text/event-stream', 'Last-Event-ID': String(last) },
            signal: controller.signal,
          });
          if (!response.ok) throw new ApiError(response.status, await problemOf(response));
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value.replace(/\r\n?/g, '\n');
            let boundary;
            while ((boundary = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, boundary);
              buffer = buffer.slice(boundary + 2);
              const event = { type: 'message', data: [], id: null };
              for (const line of block.split('\n')) {
                if (!line || line.startsWith(':')) continue;
                const colon = line.indexOf(':');
                const field = colon < 0 ? line : line.slice(0, colon);
                const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
                if (field === 'event') event.type = text;
                else if (field === 'data') event.data.push(text);
                else if (field === 'id') event.id = text;
              }
              if (event.type === 'round') {
                const row = JSON.parse(event.data.join('\n'));
                // A round at or before the last one shown is never drawn twice (a resumed stream starts after it).
                if (row.round > last) {
                  last = row.round;
                  onRound(row);
                }
              } else if (event.type === 'end') {
                ended = true;
                onEnd(JSON.parse(event.data.join('\n')));
              }
            }
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          if (error instanceof ApiError) { showError(error.message); return; }
        }
        // The service stopped or the connection dropped: wait, then resume after the last round shown.
        if (!ended && !controller.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    };
    run();
    return () => controller.abort();
  }

  // ---------- charts ----------

  function chartWidth(container) {
    return Math.max(320, Math.floor(container.getBoundingClientRect().width) - 16);
  }

  /** A uPlot chart in a titled panel; registered in window.verifiedCharts under `name`. */
  function chart(name, title, options, data) {
    const panel = h('div', { class: 'chart', 'data-chart': name }, h('h3', { text: title }));
    main.querySelector('.charts').append(panel);
    const plot = new uPlot({ width: chartWidth(panel), height: 260, ...options }, data, panel);
    window.verifiedCharts[name] = plot;
    const resize = () => plot.setSize({ width: chartWidth(panel), height: 260 });
    window.addEventListener('resize', resize);
    state.cleanup.push(() => { window.removeEventListener('resize', resize); plot.destroy(); delete window.verifiedCharts[name]; });
    return plot;
  }

  const line = (label, color, extra) => ({ label, stroke: color, width: 1.5, spanGaps: true, points: { show: false }, ...extra });

  const byteSize = (t) => {
    const [unit, scale] = t >= 1e9 ? ['GB', 1e9] : t >= 1e6 ? ['MB', 1e6] : t >= 1e3 ? ['KB', 1e3] : ['B', 1];
    return Number((t / scale).toPrecision(3)) + ' ' + unit;
  };
  // On a log scale uPlot places a tick at every 1..9 × 10^k: label 1, 2 and 5 only, or the labels overlap.
  const bytesAxis = {
    size: 72,
    values: (u, ticks, axisIndex) => ticks.map((t) => {
      if (t === null || t === undefined) return '';
      const scale = u.scales[u.axes[axisIndex].scale];
      if (scale && scale.distr === 3) {
        const mantissa = Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9));
        if (![1, 2, 5].includes(mantissa)) return '';
      }
      return byteSize(t);
    }),
  };

  // ---------- routing ----------

  function route() {
    for (const cleanup of state.cleanup.splice(0)) {
      try { cleanup(); } catch { /* a page's cleanup must not stop the next page */ }
    }
    clearError();
    const hash = location.hash || '#/runs';
    const [path, query] = hash.slice(1).split('?');
    const params = new URLSearchParams(query || '');
    const parts = path.split('/').filter(Boolean);
    for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('current', link.dataset.nav === (parts[0] || 'runs'));
    main.replaceChildren();
    let page;
    if (parts[0] === 'runs' && parts[1]) page = runPage(Number(parts[1]));
    else if (parts[0] === 'new') page = newRunPage(params);
    else if (parts[0] === 'compare') page = comparePage(params);
    else page = runsPage(params);
    Promise.resolve(page).catch((error) => showError(error.message || String(error)));
  }

  /** Replaces the fragment's query without a new history entry or a re-render (the view already shows it). */
  function replaceQuery(path, params) {
    const query = params.toString();
    history.replaceState(null, '', '#' + path + (query ? '?' + query : ''));
  }

  // ---------- runs list ----------

  async function runsPage(params) {
    document.title = 'Verified · runs';
    const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
    const selected = new Set((params.get('selected') || '').split(',').filter(Boolean).map(Number));
    const filter = h('select', { 'aria-label': 'Filter by status', 'data-testid': 'status-filter' },
      h('option', { value: '', text: 'every status' }), STATUSES.map((s) => h('option', { value: s, text: s, selected: s === status })));
    const compare = h('button', { type: 'button', class: 'primary', 'data-testid': 'compare-selected' }, 'Compare selected');
    const count = h('span', { class: 'muted' });
    const body = h('tbody');
    main.append(
      h('h1', { text: 'Runs' }),
      h('div', { class: 'toolbar' }, h('label', {}, 'Status ', filter), compare, count),
      h('table', { 'data-testid': 'runs' },
        h('thead', {}, h('tr', {},
          h('th', { text: '' }), h('th', { class: 'num', text: 'id' }), h('th', { text: 'label' }), h('th', { text: 'status' }),
          h('th', { text: 'progress' }), h('th', { class: 'num', text: 'final accuracy' }), h('th', { class: 'num', text: 'uploaded' }),
          h('th', { class: 'num', text: 'compression' }), h('th', { text: 'submitted' }), h('th', { text: '' }))),
        body));
    const saveQuery = () => {
      const query = new URLSearchParams();
      if (filter.value) query.set('status', filter.value);
      if (selected.size) query.set('selected', [...selected].sort((a, b) => a - b).join(','));
      replaceQuery('/runs', query);
      compare.disabled = selected.size < 1;
      count.textContent = selected.size ? `${selected.size} selected` : '';
    };
    compare.addEventListener('click', () => { location.hash = '#/compare?runs=' + [...selected].sort((a, b) => a - b).join(','); });
    let timer = null;
    let stopped = false;
    state.cleanup.push(() => { stopped = true; clearTimeout(timer); });
    const refresh = async () => {
      try {
        const runs = await allRuns(filter.value);
        if (stopped) return;
        body.replaceChildren(...runs.map((run) => runRow(run, selected, saveQuery, refresh)));
        if (!runs.length) body.append(h('tr', {}, h('td', { colSpan: 10, class: 'muted', text: filter.value ? `No ${filter.value} runs.` : 'No runs yet: start one with "New run".' })));
        clearError();
      } catch (error) {
        showError('Could not list the runs: ' + error.message);
      }
      // Live: the list is read again while anything may still change.
      if (!stopped) timer = setTimeout(refresh, 1500);
    };
    filter.addEventListener('change', () => { saveQuery(); clearTimeout(timer); refresh(); });
    saveQuery();
    await refresh();
  }

  function runRow(run, selected, saveQuery, refresh) {
    const outcome = run.outcome || {};
    const box = h('input', { type: 'checkbox', checked: selected.has(run.id), 'aria-label': `Select run ${run.id}` });
    const row = h('tr', { 'data-run': run.id, class: selected.has(run.id) ? 'selected' : '' });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(run.id); else selected.delete(run.id);
      row.classList.toggle('selected', box.checked);
      saveQuery();
    });
    const actions = h('td', {});
    if (!FINAL.has(run.status)) {
      actions.append(h('button', { type: 'button', 'data-action': 'cancel', onclick: async () => { await cancelRun(run.id); refresh(); } }, 'Cancel'), ' ');
    }
    actions.append(h('button', { type: 'button', 'data-action': 'clone', onclick: () => { location.hash = '#/new?clone=' + run.id; } }, 'Clone'));
    row.append(
      h('td', {}, box),
      h('td', { class: 'num' }, h('a', { href: '#/runs/' + run.id, text: String(run.id) })),
      h('td', { class: 'mono', text: run.spec.label }),
      h('td', {}, h('span', { class: 'status ' + run.status, 'data-field': 'status', text: run.status })),
      h('td', {}, h('progress', { max: run.spec.rounds, value: run.roundsCompleted }), ` ${run.roundsCompleted}/${run.spec.rounds}`),
      h('td', { class: 'num', 'data-field': 'accuracy', text: fixed(outcome.finalAccuracy, 4) }),
      h('td', { class: 'num', text: megabytes(outcome.totalBytes) }),
      h('td', { class: 'num', text: outcome.compressionRatio ? outcome.compressionRatio.toFixed(1) + '×' : '–' }),
      h('td', { text: when(run.createdAt) }),
      actions);
    return row;
  }

  async function cancelRun(id) {
    const response = await api(`/api/runs/${id}/cancel`, { method: 'POST' });
    if (!response.ok) showError(`Run ${id} could not be cancelled: ` + new ApiError(response.status, await problemOf(response)).message);
  }

  // ---------- new run ----------

  const LABELS = {
    scheme: 'scheme', bits: 'bits per coordinate', clients: 'clients (N)', rounds: 'rounds (T)', model: 'model', batchSize: 'batch per client',
    learningRate: 'learning rate η', momentum: 'momentum μ', weightDecay: 'weight decay λ', split: 'data split', seed: 'seed',
    evaluateEvery: 'evaluate every (rounds)', auditEvery: 'audit every (rounds)', workers: 'client threads', threads: 'libtorch threads per worker',
    noise: 'gradient noise', noiseScale: 'noise scale σ', errorFeedback: 'error feedback', threshold: 'truncation threshold α', fit: 'fitted model',
    segments: 'segments', dataset: 'data set',
  };

  async function newRunPage(params) {
    document.title = 'Verified · new run';
    const form = await getJson('/api/spec');
    const cloneOf = params.get('clone');
    let start = form.defaults;
    const given = new Set();
    if (cloneOf) {
      const source = await getJson('/api/runs/' + encodeURIComponent(cloneOf));
      start = source.spec;
      // A clone submits its whole spec (the scheme-dependent fields included), so it runs exactly as the original.
      for (const field of form.fields) given.add(field);
    }
    const inputs = {};
    const errors = {};
    const element = h('form', { class: 'spec', novalidate: true, 'data-testid': 'spec-form' });
    for (const field of form.fields) {
      const value = start[field];
      const id = 'field-' + field;
      let input;
      if (field === 'errorFeedback') {
        input = h('select', { id, name: field },
          h('option', { value: '', text: 'scheme default (on for tuq, tnq, tbq)' }), h('option', { value: 'true', text: 'on' }), h('option', { value: 'false', text: 'off' }));
        input.value = cloneOf ? String(value) : '';
      } else if (form.choices[field] && !form.choices[field].some((c) => /[:\s]/.test(c)) && field !== 'segments') {
        input = h('select', { id, name: field }, form.choices[field].map((c) => h('option', { value: c, text: c })));
        input.value = String(value);
      } else {
        const list = form.choices[field] ? 'choices-' + field : null;
        input = h('input', { id, name: field, type: 'text', inputMode: typeof value === 'number' ? 'decimal' : 'text', list, autocomplete: 'off' });
        input.value = field === 'segments' && !cloneOf ? '' : String(value);
        if (field === 'segments') input.placeholder = 'scheme default (tensor with bits, else whole)';
        if (list) element.append(h('datalist', { id: list }, form.choices[field].map((c) => h('option', { value: c }))));
      }
      input.addEventListener('input', () => given.add(field));
      input.addEventListener('change', () => given.add(field));
      inputs[field] = input;
      errors[field] = h('div', { class: 'field-error', 'data-error-for': field, role: 'status' });
      const hint = field === 'scheme'
        ? (form.schemes.find((s) => s.syntax === input.value) || {}).description || ''
        : (form.perScheme.includes(field) ? 'left empty, the server picks it per scheme' : `default ${String(form.defaults[field])}`);
      element.append(h('label', { for: id, text: LABELS[field] || field }), input, h('div', { class: 'hint', 'data-hint-for': field, text: hint }), errors[field]);
    }
    inputs.scheme.addEventListener('input', () => {
      const scheme = form.schemes.find((s) => s.syntax === inputs.scheme.value);
      element.querySelector('[data-hint-for="scheme"]').textContent = scheme ? scheme.description : '';
    });
    const formError = h('p', { class: 'error', 'data-testid': 'form-error', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'submit' }, 'Queue run');
    element.append(h('div', { class: 'actions' }, submit, h('span', { class: 'muted', text: 'Fields you leave as they are take the defaults of verified run.' })), formError);
    main.append(h('h1', { text: cloneOf ? `New run (a clone of run ${cloneOf})` : 'New run' }), element);

    element.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const field of form.fields) { errors[field].textContent = ''; inputs[field].classList.remove('invalid'); inputs[field].removeAttribute('aria-invalid'); }
      formError.hidden = true;
      const spec = {};
      for (const field of form.fields) {
        if (!given.has(field)) continue;
        const text = inputs[field].value.trim();
        if (text === '' && (field === 'errorFeedback' || field === 'segments')) continue;
        spec[field] = toJson(text, form.defaults[field]);
      }
      submit.disabled = true;
      try {
        const response = await api('/api/runs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(spec) });
        if (response.status === 201) {
          const run = await response.json();
          location.hash = '#/runs/' + run.id;
          return;
        }
        const problem = await problemOf(response);
        const unplaced = [];
        for (const [field, messages] of Object.entries(problem.errors || {})) {
          if (errors[field]) {
            errors[field].textContent = messages.join(' ');
            inputs[field].classList.add('invalid');
            inputs[field].setAttribute('aria-invalid', 'true');
          } else {
            unplaced.push(`${field}: ${messages.join(' ')}`);
          }
        }
        formError.textContent = [problem.title, problem.detail, ...unplaced].filter(Boolean).join(' ');
        formError.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });
  }

  /** The JSON value of a form field: numbers and booleans as such where the default is one (else the text, for the server to judge). */
  function toJson(text, defaultValue) {
    if (text === 'true' || text === 'false') return text === 'true';
    if (typeof defaultValue === 'number' && text !== '' && Number.isFinite(Number(text))) return Number(text);
    return text;
  }

  // ---------- one run ----------

  async function runPage(id) {
    document.title = `Verified · run ${id}`;
    let run = await getJson(`/api/runs/${id}`);
    const rows = await getJson(`/api/runs/${id}/metrics`);
    const header = h('div');
    const renderHeader = () => {
      const outcome = run.outcome;
      const actions = h('div', { class: 'toolbar' });
      if (!FINAL.has(run.status)) {
        actions.append(h('button', { type: 'button', 'data-action': 'cancel', onclick: async () => { await cancelRun(id); run = await getJson(`/api/runs/${id}`); renderHeader(); } }, 'Cancel'));
      }
      actions.append(
        h('button', { type: 'button', 'data-action': 'clone', onclick: () => { location.hash = '#/new?clone=' + id; } }, 'Clone'),
        h('a', { href: `/api/runs/${id}/metrics?format=csv`, download: `run-${id}-metrics.csv`, 'data-testid': 'csv', onclick: downloadWithToken }, 'metrics.csv'),
        h('a', { href: `/api/runs/${id}`, target: '_blank', rel: 'noopener', onclick: downloadWithToken }, 'JSON'));
      header.replaceChildren(
        h('h1', {}, `Run ${id} `, h('span', { class: 'mono', text: run.spec.label }), ' ', h('span', { class: 'status ' + run.status, 'data-testid': 'run-status', text: run.status })),
        h('dl', { class: 'facts' },
          h('dt', { text: 'progress' }), h('dd', {}, h('progress', { max: run.spec.rounds, value: run.roundsCompleted }), ` round ${run.roundsCompleted} of ${run.spec.rounds}`),
          h('dt', { text: 'final accuracy' }), h('dd', { 'data-testid': 'final-accuracy', text: outcome ? fixed(outcome.finalAccuracy, 4) : '–' }),
          h('dt', { text: 'uploaded' }), h('dd', { text: outcome ? `${megabytes(outcome.totalBytes)} (${outcome.bitsPerCoordinate.toFixed(3)} bits/coordinate, ${outcome.compressionRatio.toFixed(1)}× fewer bytes than float32)` : '–' }),
          run.error ? [h('dt', { text: 'error' }), h('dd', { class: 'error', text: run.error })] : null,
          h('dt', { text: 'submitted' }), h('dd', { text: `${when(run.createdAt)}; started ${when(run.startedAt)}; finished ${when(run.finishedAt)}` })),
        actions);
    };
    renderHeader();
    main.append(header, h('h2', { text: 'Training' }), h('div', { class: 'charts' }));

    // Every stored round is a point: nothing is averaged or skipped (uPlot draws thousands of points per chart cheaply).
    const series = { round: [], trainingLoss: [], testLoss: [], testAccuracy: [], totalBytes: [] };
    const push = (row) => {
      series.round.push(row.round);
      series.trainingLoss.push(row.trainingLoss);
      series.testLoss.push(row.testLoss);
      series.testAccuracy.push(row.testAccuracy);
      series.totalBytes.push(row.totalBytes);
    };
    rows.forEach(push);
    const roundAxis = { x: { time: false } };
    const loss = chart('loss', 'Loss against rounds', { scales: roundAxis, series: [{ label: 'round' }, line('training loss', PALETTE[0]), line('test loss', PALETTE[1])] },
      [series.round, series.trainingLoss, series.testLoss]);
    const accuracy = chart('accuracy', 'Test accuracy against rounds', { scales: roundAxis, series: [{ label: 'round' }, line('test accuracy', PALETTE[2])] },
      [series.round, series.testAccuracy]);
    const bytes = chart('bytes', 'Uploaded bytes against rounds', { scales: roundAxis, axes: [{}, bytesAxis], series: [{ label: 'round' }, line('uploaded bytes', PALETTE[3])] },
      [series.round, series.totalBytes]);
    const tradeoff = chart('tradeoff', 'Test accuracy against uploaded bytes', {
      scales: { x: { time: false } }, axes: [bytesAxis, {}],
      series: [{ label: 'uploaded bytes', value: (_, v) => (v === null ? '–' : megabytes(v)) }, line('test accuracy', PALETTE[2], { points: { show: true, size: 4 } })],
    }, [series.totalBytes, series.testAccuracy]);

    const auditSection = h('section', {});
    const provenanceSection = h('section', {});
    main.append(auditSection, provenanceSection);
    const renderAudit = () => auditSection.replaceChildren(...auditTable(rows));
    const renderProvenance = () => provenanceSection.replaceChildren(...provenance(run.provenance));
    renderAudit();
    renderProvenance();

    if (FINAL.has(run.status)) return;
    let pending = false;
    const redraw = () => {
      pending = false;
      loss.setData([series.round, series.trainingLoss, series.testLoss]);
      accuracy.setData([series.round, series.testAccuracy]);
      bytes.setData([series.round, series.totalBytes]);
      tradeoff.setData([series.totalBytes, series.testAccuracy]);
      renderAudit();
    };
    const lastRound = rows.length ? rows[rows.length - 1].round : 0;
    let lastHeader = 0;
    const stop = followEvents(id, lastRound, (row) => {
      rows.push(row);
      push(row);
      run = { ...run, roundsCompleted: row.round, status: 'running' };
      if (!pending) { pending = true; requestAnimationFrame(redraw); }
      if (performance.now() - lastHeader > 500) { lastHeader = performance.now(); renderHeader(); }
    }, (final) => {
      run = final;
      redraw();
      renderHeader();
      renderProvenance();
    });
    state.cleanup.push(stop);
  }

  /** With a token, a plain link cannot authenticate: fetch the file with the header and hand the browser a blob. */
  async function downloadWithToken(event) {
    if (!state.token) return;
    event.preventDefault();
    const link = event.currentTarget;
    const response = await api(link.getAttribute('href'));
    if (!response.ok) { showError(new ApiError(response.status, await problemOf(response)).message); return; }
    const url = URL.createObjectURL(await response.blob());
    const temporary = h('a', { href: url, download: link.getAttribute('download') || '' });
    document.body.append(temporary);
    temporary.click();
    temporary.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function auditTable(rows) {
    const audited = rows.filter((r) => r.measuredMse !== null && r.measuredMse !== undefined);
    const title = h('h2', { text: 'Codec audit: measured against predicted' });
    if (!audited.length) return [title, h('p', { class: 'muted', text: 'No audited round yet (every auditEvery rounds each upload is decoded again and compared with its gradient).' })];
    const codec = (measured, expected) => {
      const cell = h('td', { class: 'num', text: general(measured) });
      if (measured !== null && expected && Math.abs(measured / expected - 1) > CODEC_BAND) {
        cell.classList.add('out-of-band');
        cell.title = `${((measured / expected - 1) * 100).toFixed(1)} % from its exact expectation given the gradient: outside ±${CODEC_BAND * 100} %, the codec's fault`;
        cell.dataset.band = 'codec';
      }
      return cell;
    };
    const model = (measured, predicted, format = general) => {
      const cell = h('td', { class: 'num', text: format(measured) });
      if (measured !== null && predicted !== null && predicted > 0 && (measured / predicted > MODEL_FACTOR || measured / predicted < 1 / MODEL_FACTOR)) {
        cell.classList.add('model-band');
        cell.title = `${(measured / predicted).toFixed(2)}× the fitted model's prediction: the model's error, beyond a factor of ${MODEL_FACTOR}`;
        cell.dataset.band = 'model';
      }
      return cell;
    };
    const num = (value, format = general) => h('td', { class: 'num', text: format(value) });
    const table = h('table', { 'data-testid': 'audit' },
      h('thead', {},
        h('tr', {}, h('th', { rowSpan: 2, class: 'num', text: 'round' }), h('th', { colSpan: 3, text: 'rounding variance per coordinate' }),
          h('th', { colSpan: 2, text: 'truncation rate' }), h('th', { colSpan: 2, text: 'truncation MSE' }), h('th', { colSpan: 2, text: 'whole MSE' }),
          h('th', { colSpan: 2, text: "server's average, % of ‖ḡ‖²" })),
        h('tr', {}, ['measured', 'exact given g', 'predicted', 'measured', 'predicted', 'measured', 'predicted M(α)', 'measured', 'predicted', 'bias²', 'variance']
          .map((t) => h('th', { class: 'num', text: t })))),
      h('tbody', {}, audited.map((r) => h('tr', { 'data-round': r.round },
        num(r.round, String),
        codec(r.measuredRoundingVariance, r.expectedRoundingVariance), num(r.expectedRoundingVariance), num(r.predictedRoundingVariance),
        model(r.measuredTruncationRate, r.predictedTruncationRate, percent), num(r.predictedTruncationRate, percent),
        model(r.measuredTruncationMse, r.predictedTruncationMse), num(r.predictedTruncationMse),
        model(r.measuredMse, r.predictedMse), num(r.predictedMse),
        num(r.averagedBiasSquared, percent), num(r.averagedVariance, percent)))));
    const out = table.querySelectorAll('.out-of-band').length;
    return [title,
      h('p', { class: 'legend-note' },
        'Averaged over the round\'s uploads. ', h('span', { class: 'out-of-band', text: 'Red' }),
        `: the measured rounding variance is more than ${CODEC_BAND * 100} % from its exact expectation given the gradient (about 4.5 standard errors at d = 10⁴), which would be the codec's fault. `,
        h('span', { class: 'model-band', text: 'Amber' }),
        `: a measurement more than ${MODEL_FACTOR}× from what the fitted model predicts, the fit's error (real gradients have heavier tails than a Laplace fit). `,
        'Bias² and variance split the error of the server\'s average of the uploads.'),
      h('p', { 'data-testid': 'audit-summary', class: out ? 'error' : 'muted', text: out ? `${out} codec measurement(s) out of band.` : 'Every codec measurement is within its band.' }),
      h('div', { class: 'table-scroll' }, table)];
  }

  function provenance(record) {
    const title = h('h2', { text: 'Provenance' });
    if (!record) return [title, h('p', { class: 'muted', text: 'Written when a worker claims the run.' })];
    const items = [
      ['tool', `${record.tool} ${record.version}`], ['commit', record.commit], ['command', record.command],
      ['started', when(record.startedAt)], ['ended', when(record.endedAt)], ['runtime', record.runtime], ['TorchSharp', record.torchSharp],
      ['CPU', `${record.cpu} (${record.logicalCores} logical cores)`], ['codec path', record.codecPath],
      ['threads, workers', `${record.threads ?? '–'}, ${record.workers ?? '–'}`],
    ];
    return [title,
      h('dl', { class: 'facts', 'data-testid': 'provenance' },
        items.map(([name, value]) => [h('dt', { text: name }), h('dd', { class: 'mono', text: value ?? '–' })]),
        h('dt', { text: 'data files' }),
        h('dd', {}, (record.dataFiles || []).map((f) => h('div', { class: 'mono', text: `${f.path} (${f.bytes} bytes) sha256 ${f.sha256}` }))),
        record.resumes ? [h('dt', { text: 'resumed' }), h('dd', {}, record.resumes.map((r) => h('div', { class: 'mono', text: `${when(r.startedAt)} from round ${r.fromRound}: ${r.command}` })))] : null)];
  }

  // ---------- compare ----------

  const X_AXES = {
    round: { label: 'round', of: (row) => row.round },
    bytes: { label: 'uploaded bytes (log)', of: (row) => row.totalBytes },
    time: { label: 'elapsed seconds', of: (row) => row.elapsedSeconds },
  };

  async function comparePage(params) {
    document.title = 'Verified · compare';
    const ids = [...new Set((params.get('runs') || '').split(',').filter((s) => /^\d+$/.test(s)).map(Number))];
    let x = X_AXES[params.get('x')] ? params.get('x') : 'round';
    main.append(h('h1', { text: 'Compare runs' }));
    if (!ids.length) {
      main.append(h('p', { class: 'muted' }, 'Select runs in the ', h('a', { href: '#/runs', text: 'runs list' }), ' and press "Compare selected".'));
      return;
    }
    const runs = await Promise.all(ids.map((id) => getJson(`/api/runs/${id}`)));
    const metrics = await Promise.all(ids.map((id) => getJson(`/api/runs/${id}/metrics`)));
    const groups = groupBySeed(runs.map((run, i) => ({ run, rows: metrics[i] })));

    const choice = h('select', { 'aria-label': 'x axis', 'data-testid': 'x-axis' }, Object.entries(X_AXES).map(([key, axis]) => h('option', { value: key, text: axis.label, selected: key === x })));
    main.append(
      h('div', { class: 'toolbar' }, h('label', {}, 'x axis ', choice), h('span', { class: 'muted', text: `${runs.length} run(s) in ${groups.length} group(s); runs that differ only in their seed are one group, drawn as mean ± sd` })),
      h('ul', { class: 'groups', 'data-testid': 'groups' }, groups.map((g, i) => h('li', { 'data-testid': 'compare-group' },
        h('span', { class: 'swatch c' + (i % PALETTE.length) }), h('span', { class: 'mono', text: g.name }),
        ` runs ${g.members.map((m) => m.run.id).join(', ')}`))),
      h('div', { class: 'charts' }));
    const draw = () => {
      for (const name of ['compare-accuracy', 'compare-loss']) {
        if (window.verifiedCharts[name]) { window.verifiedCharts[name].destroy(); delete window.verifiedCharts[name]; }
      }
      main.querySelector('.charts').replaceChildren();
      compareChart('compare-accuracy', 'Test accuracy', groups, x, (row) => row.testAccuracy);
      compareChart('compare-loss', 'Training loss', groups, x, (row) => row.trainingLoss);
    };
    draw();
    choice.addEventListener('change', () => {
      x = choice.value;
      replaceQuery('/compare', new URLSearchParams({ runs: ids.join(','), x }));
      draw();
    });
    main.append(h('h2', { text: 'Config diff' }), configDiff(runs));
  }

  /** Runs whose specs are equal but for the seed form one group (its name is the label). */
  function groupBySeed(entries) {
    const groups = new Map();
    for (const entry of entries) {
      const key = JSON.stringify(Object.entries(entry.run.spec).filter(([k]) => k !== 'seed').sort(([a], [b]) => a.localeCompare(b)));
      if (!groups.has(key)) groups.set(key, { name: entry.run.spec.label, members: [] });
      groups.get(key).members.push(entry);
    }
    return [...groups.values()];
  }

  /**
   * One series per group: a single run as it is; several seeds as the mean over the rounds every member has stored
   * (x is their mean too: bytes and time differ slightly between seeds), with a band of ± one sample standard deviation.
   */
  function compareChart(name, title, groups, x, y) {
    const tables = [];
    const series = [{ label: X_AXES[x].label }];
    const bands = [];
    groups.forEach((group, i) => {
      const color = PALETTE[i % PALETTE.length];
      const byRound = group.members.map((m) => new Map(m.rows.map((r) => [r.round, r])));
      const rounds = [...byRound[0].keys()].filter((round) => byRound.every((map) => map.has(round)));
      const xs = [], mean = [], low = [], high = [];
      for (const round of rounds) {
        const members = byRound.map((map) => map.get(round));
        const values = members.map(y);
        xs.push(members.reduce((sum, r) => sum + X_AXES[x].of(r), 0) / members.length);
        if (values.some((v) => v === null || v === undefined)) { mean.push(null); low.push(null); high.push(null); continue; }
        const m = values.reduce((a, b) => a + b, 0) / values.length;
        const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - m) * (v - m), 0) / (values.length - 1)) : 0;
        mean.push(m); low.push(m - sd); high.push(m + sd);
      }
      const seeds = group.members.length;
      series.push(line(seeds > 1 ? `${group.name} (mean of ${seeds} seeds)` : group.name, color));
      if (seeds > 1) {
        const at = series.length;
        series.push(line(`${group.name} + sd`, color, { width: 0.5, dash: [4, 4] }), line(`${group.name} − sd`, color, { width: 0.5, dash: [4, 4] }));
        bands.push({ series: [at, at + 1], fill: color + '22' });
        tables.push([xs, mean, high, low]);
      } else {
        tables.push([xs, mean]);
      }
    });
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const log = x === 'bytes';
    chart(name, `${title} against ${X_AXES[x].label}`, {
      scales: { x: { time: false, distr: log ? 3 : 1 } },
      axes: [x === 'bytes' ? bytesAxis : {}, {}],
      series, bands,
    }, data);
  }

  /** The spec fields whose values differ between the runs (derived fields left out), one column per run. */
  function configDiff(runs) {
    const fields = [...new Set(runs.flatMap((run) => Object.keys(run.spec)))].filter((f) => !DERIVED.has(f));
    const differing = fields.filter((f) => new Set(runs.map((run) => JSON.stringify(run.spec[f]))).size > 1);
    if (!differing.length) return h('p', { class: 'muted', 'data-testid': 'diff', text: 'The runs have the same spec.' });
    return h('table', { class: 'diff', 'data-testid': 'diff' },
      h('thead', {}, h('tr', {}, h('th', { text: 'field' }), runs.map((run) => h('th', {}, h('a', { href: '#/runs/' + run.id, text: `run ${run.id}` }), ' ', h('span', { class: 'mono', text: run.spec.label }))))),
      h('tbody', {}, differing.map((f) => h('tr', { 'data-field': f }, h('th', { class: 'mono', text: f }), runs.map((run) => h('td', { class: 'mono differs', text: JSON.stringify(run.spec[f]) }))))));
  }

  // ---------- start ----------

  document.getElementById('token-button').hidden = !state.token;
  document.getElementById('token-button').addEventListener('click', () => askForToken('').then(route));
  window.addEventListener('hashchange', route);
  route();
})();
