/* The leaders' dashboard (DashboardPage): headline cards, charts by day, the areas below with
 * their totals (click to drill down), quarantine facilities' occupancy. Everything is read from
 * GET /api/v1/dashboard and read again when the area's counters change (counts.changed).
 */
(function () {
  "use strict";

  const OD = window.OutbreakLive;
  const config = OD.readConfig("live-config");
  const labels = config.labels;
  const el = OD.element;
  const REFRESH_AFTER_EVENTS_MS = 150;

  // Headline cards: today's figure with yesterday's and the total, then single figures.
  const DAILY_CARDS = ["cases_f0", "f1", "f2", "tests", "positive", "doses"];
  const SINGLE_CARDS = ["quarantine_facility_active", "quarantine_home_active", "missed_checkins_today"];
  const SHARE_CARDS = ["coverage_one_dose", "coverage_two_doses"];
  // Columns of the table of areas below (totals over the range).
  const CHILD_COLUMNS = ["cases_f0", "cases_f1", "tests", "tests_positive", "doses", "checkpoint_in", "declarations"];
  const COLOURS = {
    cases_f0: "#c62828",
    cases_f1: "#ef6c00",
    cases_f2: "#f9a825",
    tests: "#1565c0",
    tests_positive: "#c62828",
    positivity: "#6a1b9a",
    doses: "#2e7d32",
    checkpoint_in: "#00838f",
    checkpoint_out: "#8d6e63",
    quarantine_started: "#6a1b9a",
    quarantine_ended: "#9e9e9e",
    quarantine_facility_active: "#1565c0",
    quarantine_home_active: "#00838f",
  };

  function shortDate(iso) {
    return `${iso.slice(8, 10)}/${iso.slice(5, 7)}`;
  }

  function percent(share) {
    return `${(Number(share || 0) * 100).toLocaleString(document.documentElement.lang || undefined, { maximumFractionDigits: 1 })} %`;
  }

  // --- Headline ------------------------------------------------------------------------------

  function card(metric, value, { shown, when, detail } = {}) {
    return el(
      "article",
      { class: "live-card", "data-metric": metric },
      el("h2", { text: labels[metric] || metric }),
      el("p", { class: "live-card-value", "data-value": String(value) }, shown ?? OD.formatNumber(value), when ? el("small", { text: ` ${when}` }) : null),
      detail ? el("p", { class: "live-card-detail", text: detail }) : null,
    );
  }

  function renderHeadline(headline) {
    const cards = [];
    DAILY_CARDS.forEach((metric) => {
      const figures = headline[metric];
      if (!figures) return;
      const detail = `${labels.yesterday}: ${OD.formatNumber(figures.yesterday)} · ${labels.total}: ${OD.formatNumber(figures.total)}`;
      cards.push(card(metric, Number(figures.today || 0), { when: labels.today, detail }));
    });
    SINGLE_CARDS.forEach((metric) => {
      if (metric in headline) cards.push(card(metric, Number(headline[metric] || 0)));
    });
    SHARE_CARDS.forEach((metric) => {
      // No share without the area's population (none recorded): a dash, not a false 0 %.
      const share = headline[metric];
      if (metric in headline) cards.push(card(metric, share ?? "", { shown: share === null || share === undefined ? "—" : percent(share) }));
    });
    document.getElementById("live-cards").replaceChildren(...cards);
  }

  // --- Charts --------------------------------------------------------------------------------

  function dataset(metric, values, extra) {
    return { label: labels[metric] || metric, data: values, backgroundColor: COLOURS[metric], borderColor: COLOURS[metric], ...extra };
  }

  function positivity(series) {
    const tests = series.tests || [];
    const positive = series.tests_positive || [];
    return tests.map((count, index) => (count ? Math.round((1000 * (positive[index] || 0)) / count) / 10 : null));
  }

  /** Each chart: its datasets from the series (metric name → one value per date). */
  const CHARTS = {
    cases: (series) => ["cases_f0", "cases_f1", "cases_f2"].map((metric) => dataset(metric, series[metric] || [])),
    tests: (series) => [
      dataset("tests", series.tests || []),
      dataset("tests_positive", series.tests_positive || []),
      dataset("positivity", positivity(series), { type: "line", yAxisID: "share", tension: 0.2, pointRadius: 2 }),
    ],
    doses: (series) => [dataset("doses", series.doses || [])],
    checkpoints: (series) => ["checkpoint_in", "checkpoint_out"].map((metric) => dataset(metric, series[metric] || [])),
    quarantine: (series) => [
      ...["quarantine_started", "quarantine_ended"].map((metric) => dataset(metric, series[metric] || [])),
      ...["quarantine_facility_active", "quarantine_home_active"].map((metric) =>
        dataset(metric, series[metric] || [], { type: "line", yAxisID: "active", tension: 0.2, pointRadius: 0 }),
      ),
    ],
  };
  const charts = {};

  function chartOptions(name) {
    const scales = { x: { ticks: { maxRotation: 0, autoSkipPadding: 8 } }, y: { beginAtZero: true, ticks: { precision: 0 } } };
    if (name === "tests") scales.share = { position: "right", beginAtZero: true, suggestedMax: 10, grid: { drawOnChartArea: false } };
    if (name === "quarantine") scales.active = { position: "right", beginAtZero: true, ticks: { precision: 0 }, grid: { drawOnChartArea: false } };
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales,
    };
  }

  function renderCharts(series) {
    const dates = (series.dates || []).map(shortDate);
    Object.entries(CHARTS).forEach(([name, datasetsOf]) => {
      const canvas = document.getElementById(`chart-${name}`);
      if (!canvas) return;
      const datasets = datasetsOf(series);
      if (!charts[name]) {
        charts[name] = new Chart(canvas, { type: "bar", data: { labels: dates, datasets }, options: chartOptions(name) });
        return;
      }
      charts[name].data.labels = dates;
      charts[name].data.datasets.forEach((shown, index) => {
        shown.data = datasets[index].data;
      });
      charts[name].update("none");
    });
  }

  // --- Tables --------------------------------------------------------------------------------

  function renderChildren(rows) {
    const table = document.getElementById("live-children");
    const head = el("tr", {}, el("th", { text: labels.area }), CHILD_COLUMNS.map((metric) => el("th", { class: "num", text: labels[metric] || metric })));
    const body = (rows || []).map((row) =>
      el(
        "tr",
        { "data-area": row.code },
        el("td", {}, el("a", { href: `?area=${encodeURIComponent(row.code)}`, "data-drill": row.code, text: row.name })),
        CHILD_COLUMNS.map((metric) => el("td", { class: "num", text: OD.formatNumber(row[metric]) })),
      ),
    );
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, body.length ? body : el("tr", {}, el("td", { colspan: CHILD_COLUMNS.length + 1, text: labels.no_data }))));
    table.closest(".live-table").hidden = body.length === 0;
  }

  function renderOccupancy(rows) {
    const table = document.getElementById("live-occupancy");
    const head = el("tr", {}, ["place", "capacity", "active", "occupancy"].map((name) => el("th", { class: name === "place" ? "" : "num", text: labels[name] })));
    const body = (rows || []).map((row) =>
      el(
        "tr",
        { "data-place": row.place },
        el("td", { text: row.name }),
        el("td", { class: "num", text: row.capacity === null || row.capacity === undefined ? "—" : OD.formatNumber(row.capacity) }),
        el("td", { class: "num", text: OD.formatNumber(row.active) }),
        el("td", { class: "num", text: row.capacity ? percent(row.active / row.capacity) : "—" }),
      ),
    );
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
    table.closest(".live-table").hidden = body.length === 0;
  }

  // --- Wiring --------------------------------------------------------------------------------

  let nav = null;

  function render(data) {
    renderHeadline(data.headline || {});
    renderCharts(data.series || {});
    renderChildren(data.by_child);
    renderOccupancy(data.occupancy);
    nav.setChildren((data.area && data.area.children) || []);
    document.body.dataset.dashboardSeq = String(data.seq);
    OD.showMessage("");
  }

  const load = () => OD.fetchJSON(config.api.dashboard, nav.params()).then((data) => (render(data), data.seq));
  const failed = (error) => OD.showMessage(error.detail || labels.load_failed);
  const refresh = OD.debounce(() => load().catch(failed), REFRESH_AFTER_EVENTS_MS);

  const client = new OD.LiveClient({
    path: config.socket,
    area: config.area.code,
    snapshot: load,
    onState: (state) => nav.showState(state),
    onError: failed,
    onEvent: (event) => {
      if (event.type === "counts.changed") refresh();
    },
  });
  nav = new OD.AreaNav(config, () => client.watch(nav.area.code));
  document.getElementById("live-children").addEventListener("click", (event) => {
    const link = event.target.closest("[data-drill]");
    if (!link) return;
    event.preventDefault();
    nav.drill({ code: link.dataset.drill, name: link.textContent });
  });
  nav.showState("connecting");
  client.start();
  window.liveDashboard = { client, nav, charts };
})();
