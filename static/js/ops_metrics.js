// The ops metrics page's charts (Chart.js from static/vendor). Data: #ops-chart-data (json_script).
(() => {
  const source = document.getElementById("ops-chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const perPeriod = { 60: "minute", 300: "5 minutes", 3600: "hour" }[data.period] || `${data.period} s`;
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const colors = { blue: "#1c6fd1", orange: "#d97706", red: "#c0392b", green: "#1e8e4f", grey: "#6b7280", purple: "#7c3aed" };

  const base = (yTitle, unit) => ({
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: {
      legend: { position: "bottom", labels: { boxWidth: 12 } },
      tooltip: {
        callbacks: {
          title: (items) => `${items[0].label} UTC`,
          label: (item) => item.raw == null
            ? `${item.dataset.label}: no data`
            : `${item.dataset.label}: ${number.format(item.raw)}${unit}`,
        },
      },
    },
    scales: {
      x: {
        ticks: {
          maxTicksLimit: 7, maxRotation: 0, autoSkipPadding: 16,
          // Hourly points: the day is enough on the axis; the tooltip has the hour.
          callback(value) { const label = this.getLabelForValue(value); return data.period >= 3600 ? label.slice(0, 6) : label; },
        },
        grid: { display: false },
        title: { display: true, text: "UTC" },
      },
      y: { beginAtZero: true, title: { display: true, text: yTitle }, ticks: { callback: (v) => number.format(v) + unit } },
    },
  });

  const line = (label, values, color, dash) => ({
    label, data: values, borderColor: color, backgroundColor: color,
    borderWidth: 1.5, pointRadius: 0, borderDash: dash || [], spanGaps: false, tension: 0.2,
  });

  const charts = {
    requests: {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: `Requests per ${perPeriod}`, data: data.count, backgroundColor: colors.blue, borderWidth: 0 }] },
      options: base(`requests per ${perPeriod}`, ""),
    },
    errors: {
      type: "line",
      data: { labels: data.labels, datasets: [
        line("4XX % (429 included)", data.rate_4xx, colors.orange),
        line("5XX %", data.rate_5xx, colors.red),
      ] },
      options: base("% of requests", " %"),
    },
    latency: {
      type: "line",
      data: { labels: data.labels, datasets: [
        line("p50", data.lat_p50, colors.green),
        line("p90", data.lat_p90, colors.orange),
        line("p99", data.lat_p99, colors.red),
        line("average", data.lat_avg, colors.grey, [4, 3]),
      ] },
      options: base("milliseconds", " ms"),
    },
    integration: {
      type: "line",
      data: { labels: data.labels, datasets: [
        line("p50", data.int_p50, colors.green),
        line("p90", data.int_p90, colors.orange),
        line("p99", data.int_p99, colors.red),
        line("average", data.int_avg, colors.grey, [4, 3]),
      ] },
      options: base("milliseconds", " ms"),
    },
  };
  for (const canvas of document.querySelectorAll("canvas[data-ops-chart]")) {
    const config = charts[canvas.dataset.opsChart];
    if (config) new Chart(canvas, config);
  }
})();
