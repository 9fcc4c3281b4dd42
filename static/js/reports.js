/* The charts of /reports, drawn with Chart.js from the figures the page carries as JSON
   (the same numbers as its tables and CSV files; nothing is computed here but minutes). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("reportData").textContent);
  var COLORS = {started: "#2563eb", handled: "#059669", abandoned: "#dc2626", median: "#2563eb", p90: "#d97706"};
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';

  function minutes(values) {
    return values.map(function (seconds) { return seconds === null ? null : Math.round(seconds / 6) / 10; });
  }

  function draw(id, type, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {type: type, data: {labels: labels, datasets: datasets}, options: options || {}});
  }

  var wholeNumbers = {y: {beginAtZero: true, ticks: {precision: 0}}};

  draw("chartDays", "bar", data.days, [
    {label: "Started", data: data.started, backgroundColor: COLORS.started},
    {label: "Handled", data: data.handled, backgroundColor: COLORS.handled},
    {label: "Abandoned", data: data.abandoned, backgroundColor: COLORS.abandoned}
  ], {scales: wholeNumbers});

  draw("chartWaiting", "line", data.days, [
    {label: "Median", data: minutes(data.waiting_median), borderColor: COLORS.median, backgroundColor: COLORS.median, spanGaps: true},
    {label: "90th percentile", data: minutes(data.waiting_p90), borderColor: COLORS.p90, backgroundColor: COLORS.p90, spanGaps: true}
  ], {scales: {y: {beginAtZero: true, title: {display: true, text: "minutes"}}}});

  draw("chartHours", "bar", data.hours.map(function (_, hour) { return (hour < 10 ? "0" : "") + hour; }), [
    {label: "Chats started", data: data.hours, backgroundColor: COLORS.started}
  ], {scales: wholeNumbers, plugins: {legend: {display: false}}});

  draw("chartAbandoned", "bar", data.reasons, [
    {label: "Chats", data: data.reason_counts, backgroundColor: COLORS.abandoned}
  ], {indexAxis: "y", scales: {x: {beginAtZero: true, ticks: {precision: 0}}}, plugins: {legend: {display: false}}});
})();
