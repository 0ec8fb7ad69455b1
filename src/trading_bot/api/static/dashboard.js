// The bot's dashboard: reads the HTTP API with the bearer token, follows the live event stream,
// and opens backtest results locally. No framework, no CDN: everything is served by the bot.
"use strict";

const LC = window.LightweightCharts;
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "trading-bot-token";
const money = (x) => (x == null ? "–" : Number(x).toLocaleString(undefined,
  { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const signed = (x) => (x >= 0 ? "+" : "") + money(x);
const seconds = (ms) => Math.floor(ms / 1000);
const iso = (ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");
const CHART = { layout: { background: { color: "#10141a" }, textColor: "#c8c8c8" },
  grid: { vertLines: { color: "#1c222b" }, horzLines: { color: "#1c222b" } },
  timeScale: { timeVisible: true, secondsVisible: false }, autoSize: true };

let token = null;
let candleSeries, equitySeries, markers, markerList = [], priceLines = [];

// -- the token: from the address (#token=...), remembered, or asked for -----------------------

function takeToken() {
  const fromAddress = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromAddress) {
    localStorage.setItem(TOKEN_KEY, fromAddress);
    history.replaceState(null, "", location.pathname);  // out of the address bar and history
  }
  return localStorage.getItem(TOKEN_KEY);
}

async function api(path, options = {}) {
  const response = await fetch("api/v1/" + path, {
    ...options, headers: { Authorization: "Bearer " + token, ...(options.headers || {}) },
  });
  if (response.status === 401) {
    localStorage.removeItem(TOKEN_KEY);
    showLogin("That token was refused.");
    throw new Error("unauthorized");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || body.detail || response.statusText);
  return body;
}

const items = (body) => (Array.isArray(body) ? body : body.trades || body.points || []);

function showLogin(message) {
  $("live").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

// -- views --------------------------------------------------------------------------------

function renderStatus(s) {
  $("name").textContent = s.name || "trading-bot";
  $("synthetic").hidden = !s.synthetic;
  $("mode").textContent = String(s.mode || "").toUpperCase();
  $("state").textContent = s.paused ? "PAUSED" : "trading";
  $("state").className = "badge" + (s.paused ? " bad" : "");
  $("state").title = s.pause_reason || "";
  const others = (s.symbols || []).filter((x) => x !== s.symbol);
  const more = others.length ? ` (+ ${others.join(", ")})` : "";
  $("market").textContent = `${s.symbol}${more} ${s.timeframe} · ${s.strategy}`;
  chartSymbol = chartSymbol || s.symbol;
  renderSymbolChoice(s.symbols || [s.symbol]);
  const stale = s.stale_feeds || [];
  $("feed").textContent = stale.length ? "feed STALE" : "feed ok";
  $("feed").className = stale.length ? "bad" : "good";
  $("equity").textContent = money(s.equity);
  $("cash").textContent = money(s.cash);
}

function table(element, header, rows) {
  const head = "<tr>" + header.map((h) => `<th>${h}</th>`).join("") + "</tr>";
  const body = rows.map((r) => "<tr>" + r.map((c) => `<td>${c}</td>`).join("") + "</tr>");
  element.innerHTML = head + (body.join("") || `<tr><td colspan="${header.length}">none</td></tr>`);
}

function renderPositions(positions) {
  table($("positions"), ["symbol", "side", "qty", "entry", "last", "PnL"], positions.map((p) => [
    p.symbol, p.side, p.qty, p.avg_price, money(p.last_price),
    `<span class="${p.unrealized_pnl >= 0 ? "good" : "bad"}">${signed(p.unrealized_pnl)}</span>`,
  ]));
}

function tradeRows(trades) {  // newest first
  return trades.map((t) => [
    iso(t.exit_time), t.side, t.qty, t.entry_price, t.exit_price,
    `<span class="${Number(t.pnl) >= 0 ? "good" : "bad"}">${signed(Number(t.pnl))}</span>`,
    t.exit_reason || "",
  ]);
}
const TRADE_HEADER = ["exit (UTC)", "side", "qty", "entry", "exit", "PnL", "why"];

// With a dynamic universe several symbols trade: the chart shows one, chosen in a list.
let chartSymbol = null;

function renderSymbolChoice(symbols) {
  const choice = $("chart-symbol");
  choice.hidden = symbols.length < 2;
  const current = Array.from(choice.options).map((o) => o.value).join(",");
  if (current === symbols.join(",")) return;
  choice.innerHTML = "";
  for (const symbol of symbols) {
    choice.add(new Option(symbol, symbol, false, symbol === chartSymbol));
  }
}

async function showSymbol(symbol) {
  chartSymbol = symbol;
  markerList.length = 0;
  markers.setMarkers([]);
  await loadHistory();
  refresh();
}

function setPriceLines(orders) {
  priceLines.forEach((line) => candleSeries.removePriceLine(line));
  const shown = orders.filter((o) => o.symbol === chartSymbol && o.price != null);
  priceLines = shown.filter((o) => o.role !== "entry").map((o) =>
    candleSeries.createPriceLine({ price: Number(o.price), title: o.role,
      color: o.role === "stop_loss" ? "#ef5350" : "#26a69a", lineStyle: 2 }));
}

function addMarker(fill) {
  const buy = fill.side === "buy";
  markerList.push({ time: seconds(fill.time), position: buy ? "belowBar" : "aboveBar",
    color: buy ? "#26a69a" : "#ef5350", shape: buy ? "arrowUp" : "arrowDown",
    text: fill.role === "entry" ? "entry" : fill.role });
  markerList.sort((a, b) => a.time - b.time);
  markers.setMarkers(markerList.slice(-300));
}

// -- live ---------------------------------------------------------------------------------

async function refresh() {
  const [status, positions, trades, orders] = await Promise.all([
    api("status"), api("positions"), api("trades?limit=50"), api("orders").catch(() => []),
  ]);
  renderStatus(status.status);
  renderPositions(items(positions));
  table($("trades"), TRADE_HEADER, tradeRows(items(trades)));
  setPriceLines(items(orders));
}

async function loadHistory() {
  const [candles, equity] = await Promise.all([
    api(chartSymbol ? "candles?symbol=" + encodeURIComponent(chartSymbol) : "candles")
      .catch(() => []),
    api("equity").catch(() => []),
  ]);
  candleSeries.setData(items(candles).map((c) => ({ time: seconds(c.open_time), open: c.open,
    high: c.high, low: c.low, close: c.close })));
  const seen = new Set();
  equitySeries.setData(items(equity).map((p) => ({ time: seconds(p.time), value: p.equity }))
    .filter((p) => !seen.has(p.time) && seen.add(p.time)));
}

function onEvent(kind, data) {
  if (kind.includes("candle")) {
    const c = data.candle || data;
    if (chartSymbol && c.symbol !== chartSymbol) return;
    candleSeries.update({ time: seconds(c.open_time), open: c.open, high: c.high, low: c.low,
      close: c.close });
  } else if (kind.includes("equity")) {
    equitySeries.update({ time: seconds(data.time), value: data.equity });
    $("equity").textContent = money(data.equity);
    if (data.cash != null) $("cash").textContent = money(data.cash);
  } else if (kind.includes("fill")) {
    const fill = data.fill || data;
    if (!chartSymbol || fill.symbol === chartSymbol) addMarker(fill);
    scheduleRefresh();
  } else if (kind.includes("position") || kind.includes("paused") || kind.includes("resumed")) {
    scheduleRefresh();
  }
}

let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer === null) refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, 300);
}

// Server-sent events over fetch: EventSource cannot send the Authorization header.
async function follow() {
  for (;;) {
    try {
      const response = await fetch("api/v1/events", { headers: { Authorization: "Bearer " + token } });
      if (!response.ok) throw new Error(response.statusText);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let kind = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) kind = line.slice(6).trim().toLowerCase();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) onEvent(kind, JSON.parse(data));
        }
      }
    } catch (error) {
      console.warn("event stream lost; reconnecting", error);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function control(path, question) {
  if (question && !confirm(question)) return;
  try {
    const result = await api(path, { method: "POST" });
    $("control-result").textContent = result.message || "done";
  } catch (error) {
    $("control-result").textContent = "failed: " + error.message;
  }
  refresh();
}

async function start() {
  token = takeToken();
  if (!token) { showLogin(); return; }
  $("login").hidden = true;
  $("live").hidden = false;
  const chart = LC.createChart($("candles"), CHART);
  candleSeries = chart.addSeries(LC.CandlestickSeries, { upColor: "#26a69a", downColor: "#ef5350",
    wickUpColor: "#26a69a", wickDownColor: "#ef5350", borderVisible: false });
  markers = LC.createSeriesMarkers(candleSeries, []);
  const equityChart = LC.createChart($("equity-chart"), CHART);
  equitySeries = equityChart.addSeries(LC.LineSeries, { color: "#4fa3f7", lineWidth: 2 });
  try {
    await Promise.all([refresh(), loadHistory()]);
  } catch (error) {
    if (error.message !== "unauthorized") console.error(error);
    return;
  }
  follow();
  setInterval(() => refresh().catch(() => {}), 15000);
}

$("chart-symbol").addEventListener("change", (event) => showSymbol(event.target.value));

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("token").value.trim());
  start();
});
$("pause").addEventListener("click", () => control("pause"));
$("resume").addEventListener("click", () => control("resume"));
$("closeall").addEventListener("click", () =>
  control("closeall", "Close every position at market and cancel every order?"));

// -- a backtest result, read locally -------------------------------------------------------

$("result-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const result = JSON.parse(await file.text());
  const m = result.metrics || {};
  $("result").hidden = false;
  $("result-summary").textContent = `${result.strategy} ${JSON.stringify(result.params || {})}: ` +
    `${(result.trades || []).length} trades, equity ${money(result.start_equity)} → ` +
    `${money(result.final_equity)}` + (m.sharpe != null ? `, Sharpe ${Number(m.sharpe).toFixed(2)}` : "");
  const trades = (result.trades || []).map((t) => ({ ...t,
    exit_time: Date.parse(t.exit_time), entry_time: Date.parse(t.entry_time) }));
  table($("result-trades"), TRADE_HEADER, tradeRows(trades.slice().reverse()));
  const chart = LC.createChart($("result-equity"), CHART);
  const line = chart.addSeries(LC.LineSeries, { color: "#4fa3f7", lineWidth: 2 });
  let equity = Number(result.start_equity);
  line.setData(trades.map((t) => ({ time: seconds(t.exit_time), value: (equity += Number(t.pnl)) }))
    .filter((p, i, all) => i === all.length - 1 || all[i + 1].time !== p.time));
});

start();
