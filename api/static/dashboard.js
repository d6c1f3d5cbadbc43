// The cost dashboard: reads /api/v1/billing/cost-dashboard/* with the admin key kept in
// localStorage (or passed once as #key=...), and draws every panel with Chart.js (vendored).
"use strict";

const API = "/api/v1/billing/cost-dashboard";
const KEY_STORAGE = "billing.apiKey";
const PALETTE = ["#2f6fde", "#e8590c", "#2b8a3e", "#ae3ec9", "#f59f00", "#0c8599", "#c2255c",
  "#5c7cfa", "#74b816", "#868e96"];
const charts = {};

function takeKeyFromFragment() {
  const match = /(?:^|&)key=([^&]+)/.exec(location.hash.slice(1));
  if (match) {
    localStorage.setItem(KEY_STORAGE, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function apiKey() { return localStorage.getItem(KEY_STORAGE); }

function setStatus(text, isError) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

async function get(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(name, value);
  }
  const response = await fetch(`${API}${path}?${query}`, { headers: { "X-API-Key": apiKey() } });
  if (response.status === 401 || response.status === 403) {
    document.body.classList.add("needs-key");
    throw new Error("the admin API key is missing or wrong");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${body.detail || response.status}`);
  return body;
}

function filters() {
  const month = document.getElementById("period").value;  // YYYY-MM
  return { period: month ? `${month}-01` : "", tenant: document.getElementById("tenant").value.trim() };
}

function color(i) { return PALETTE[i % PALETTE.length]; }

function draw(id, config) {
  const canvas = document.getElementById(id);
  if (charts[id]) charts[id].destroy();
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false },
    config.options || {});
  charts[id] = new Chart(canvas, config);
  const points = config.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0);
  canvas.dataset.points = String(points);
  canvas.closest("section").dataset.rendered = "true";
}

function numbers(values) { return values.map((v) => (v === null ? null : Number(v))); }

function renderTiles(overview) {
  const tiles = document.getElementById("tiles");
  tiles.replaceChildren(...overview.tiles.map((tile) => {
    const el = document.createElement("div");
    el.className = "tile";
    el.dataset.key = tile.key;
    const label = document.createElement("div");
    label.className = "label";
    label.textContent = tile.label;
    const value = document.createElement("div");
    value.className = "value";
    value.textContent = tile.value;
    el.append(label, value);
    return el;
  }));
}

function renderRevenueTrend(revenue) {
  // Total revenue per period (one dataset per currency), stacked by tenant would be unreadable.
  const byCurrency = {};
  for (const s of revenue.series) {
    const totals = byCurrency[s.currency] || (byCurrency[s.currency] = revenue.labels.map(() => 0));
    s.data.forEach((v, i) => { if (v !== null) totals[i] += Number(v); });
  }
  draw("chart-revenue-trend", {
    type: "bar",
    data: {
      labels: revenue.labels.map((p) => p.slice(0, 7)),
      datasets: Object.entries(byCurrency).map(([currency, data], i) => ({
        label: `Revenue (${currency})`, data, backgroundColor: color(i),
      })),
    },
  });
}

function renderRevenueByTenant(revenue, period) {
  const rows = revenue.rows.filter((r) => r.period_start === period);
  draw("chart-revenue-by-tenant", {
    type: "bar",
    data: {
      labels: rows.map((r) => r.tenant_id),
      datasets: [
        { label: "Revenue", data: numbers(rows.map((r) => r.revenue)), backgroundColor: color(0) },
        { label: "Billed (incl. tax, after credits)", data: numbers(rows.map((r) => r.billed)), backgroundColor: color(2) },
      ],
    },
    options: { scales: { x: { ticks: { autoSkip: false, maxRotation: 90 } } } },
  });
}

function renderInvoiceStatus(status) {
  const counts = {};
  for (const row of status.by_status) counts[row.status] = (counts[row.status] || 0) + row.count;
  const names = Object.keys(counts);
  draw("chart-invoice-status", {
    type: "doughnut",
    data: {
      labels: names,
      datasets: [{ label: "Invoices", data: names.map((n) => counts[n]), backgroundColor: names.map((_, i) => color(i)) }],
    },
  });
  const body = document.querySelector("#invoices-table tbody");
  body.replaceChildren(...status.invoices.map((inv) => {
    const tr = document.createElement("tr");
    const cells = [inv.number || "(draft)", inv.tenant_id, inv.period_start.slice(0, 7), null,
      `${inv.total} ${inv.currency}`];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 3) {
        const state = inv.status === "finalized" && inv.payment_status ? inv.payment_status : inv.status;
        const badge = document.createElement("span");
        badge.className = `badge ${state}`;
        badge.textContent = state.replaceAll("_", " ");
        td.append(badge);
      } else {
        td.textContent = text;
      }
      if (i === 4) td.className = "num";
      tr.append(td);
    });
    return tr;
  }));
  document.querySelector('[data-panel="invoices"]').dataset.rendered = "true";
}

function fillTable(selector, rows, numericFrom) {
  const body = document.querySelector(`${selector} tbody`);
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i >= numericFrom) td.className = "num";
      tr.append(td);
    });
    return tr;
  }));
  body.closest("section").dataset.rendered = "true";
}

function renderCostTrend(daily) {
  draw("chart-cost-trend", {
    type: "line",
    data: {
      labels: daily.labels,
      datasets: daily.series.map((s, i) => ({
        label: `${s.name} (${s.currency})`, data: numbers(s.data), borderColor: color(i),
        backgroundColor: color(i), pointRadius: 0, tension: 0.2,
      })),
    },
    options: { scales: { x: { ticks: { maxTicksLimit: 12 } } } },
  });
}

function renderCostByCenter(daily, centers) {
  // One stacked bar per day: each center's direct cost and its shares of shared pools (one
  // stack per currency); the period's split into direct and shared is in the table.
  draw("chart-cost-by-center", {
    type: "bar",
    data: {
      labels: daily.labels,
      datasets: daily.series.map((s, i) => ({
        label: `${s.name} (${s.currency})`, data: numbers(s.data), backgroundColor: color(i + 3),
        stack: s.currency,
      })),
    },
    options: { scales: { x: { stacked: true, ticks: { maxTicksLimit: 12 } }, y: { stacked: true } } },
  });
  fillTable("#cost-centers-table", centers.rows.map((r) =>
    [r.cost_center, r.name || "", r.direct, r.shared, `${r.total} ${r.currency}`]), 2);
}

function renderForecast(forecast) {
  const rows = forecast.totals;
  draw("chart-forecast", {
    type: "bar",
    data: {
      labels: rows.map((r) => `${r.month_start.slice(0, 7)} (${r.currency}, as of ${r.as_of})`),
      datasets: [
        { label: "Month to date", data: numbers(rows.map((r) => r.month_to_date)), backgroundColor: color(0) },
        { label: "Forecast month end", data: numbers(rows.map((r) => r.forecast)), backgroundColor: color(1) },
      ],
    },
  });
  const tile = rows[0];
  if (tile) {
    addTile("cost_mtd", `Cloud cost MTD (${tile.currency})`, tile.month_to_date);
    addTile("cost_forecast", `Forecast month end (${tile.currency})`, tile.forecast);
  }
}

function renderAnomalies(anomalies) {
  draw("chart-anomalies", {
    type: "line",
    data: {
      labels: anomalies.labels,
      datasets: anomalies.series.map((s, i) => (i === 0
        ? { label: `daily cost (${s.currency})`, data: numbers(s.data), borderColor: color(0), pointRadius: 0 }
        : { label: s.name, data: numbers(s.data), borderColor: "#c92a2a", backgroundColor: "#c92a2a",
            showLine: false, pointRadius: 5 })),
    },
    options: { scales: { x: { ticks: { maxTicksLimit: 12 } } } },
  });
  fillTable("#anomalies-table", anomalies.anomalies.slice().reverse().map((a) =>
    [a.day, a.provider, a.service, `${a.cost} ${a.currency}`, a.baseline]), 3);
}

function renderMovers(monthly) {
  fillTable("#movers-table", monthly.movers.map((m) =>
    [m.provider, m.service, m.previous_cost, m.cost, `${m.change} ${m.currency}`]), 2);
}

function renderMargin(margin) {
  const [revenue, cost, gross] = margin.series;
  draw("chart-margin", {
    type: "bar",
    data: {
      labels: margin.labels,
      datasets: [
        { label: "Revenue", data: numbers(revenue ? revenue.data : []), backgroundColor: color(0) },
        { label: "Allocated cloud cost", data: numbers(cost ? cost.data : []), backgroundColor: color(1) },
        { type: "line", label: "Gross margin", data: numbers(gross ? gross.data : []), borderColor: color(2), backgroundColor: color(2) },
      ],
    },
    options: { scales: { x: { ticks: { autoSkip: false, maxRotation: 90 } } } },
  });
}

function addTile(key, labelText, valueText) {
  const el = document.createElement("div");
  el.className = "tile";
  el.dataset.key = key;
  const label = document.createElement("div");
  label.className = "label";
  label.textContent = labelText;
  const value = document.createElement("div");
  value.className = "value";
  value.textContent = valueText;
  el.append(label, value);
  document.getElementById("tiles").append(el);
}

async function refresh() {
  if (!apiKey()) {
    document.body.classList.add("needs-key");
    setStatus("enter the admin API key");
    return;
  }
  document.body.classList.remove("needs-key");
  setStatus("loading…");
  try {
    const overview = await get("/overview", { period: filters().period });
    const period = overview.period_start;
    if (!document.getElementById("period").value) document.getElementById("period").value = period.slice(0, 7);
    const tenant = filters().tenant;
    // Daily panels show the selected month and the one before it.
    const [year, month] = period.split("-").map(Number);
    const since = month === 1 ? `${year - 1}-12-01` : `${year}-${String(month - 1).padStart(2, "0")}-01`;
    const until = month === 12 ? `${year + 1}-01-01` : `${year}-${String(month + 1).padStart(2, "0")}-01`;
    const lastDay = new Date(Date.parse(until) - 86400000).toISOString().slice(0, 10);
    const [revenue, status, daily, centerDaily, centers, forecast, anomalies, monthly, margin, units] = await Promise.all([
      get("/revenue", { tenant_id: tenant }),
      get("/invoices", { period_start: period, tenant_id: tenant }),
      get("/costs/daily", { group_by: "service", start: since, end: lastDay }),
      get("/costs/daily", { group_by: "cost_center", start: since, end: lastDay }),
      get("/costs/cost-centers", { period_start: period }),
      get("/costs/forecast"),
      get("/costs/anomalies", { start: since, end: lastDay }),
      get("/costs/monthly", { top: 10 }),
      get("/tenant-margin", { period_start: period, tenant_id: tenant }),
      get("/unit-costs", { period_start: period }),
    ]);
    renderTiles(overview);
    renderCostTrend(daily);
    renderCostByCenter(centerDaily, centers);
    renderForecast(forecast);
    renderAnomalies(anomalies);
    renderMovers(monthly);
    renderMargin(margin);
    fillTable("#unit-costs-table", units.rows.map((u) => [u.meter, u.rule || "", `${u.allocated_cost} ${u.currency}`,
      `${u.quantity} ${u.unit || ""}`, String(u.tenants), u.unit_cost === null ? "n/a" : `${u.unit_cost} ${u.currency}`]), 2);
    renderRevenueTrend(revenue);
    renderRevenueByTenant(revenue, period);
    renderInvoiceStatus(status);
    document.body.dataset.loaded = "true";
    setStatus(overview.as_of ? `data as of ${overview.as_of.replace("T", " ").slice(0, 19)} UTC` : "no data published yet");
  } catch (error) {
    setStatus(error.message, true);
  }
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(KEY_STORAGE, document.getElementById("key").value.trim());
  refresh();
});
document.getElementById("forget").addEventListener("click", () => {
  localStorage.removeItem(KEY_STORAGE);
  refresh();
});
document.getElementById("apply").addEventListener("click", refresh);
window.addEventListener("hashchange", () => { takeKeyFromFragment(); refresh(); });
takeKeyFromFragment();
refresh();
