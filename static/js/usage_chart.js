// The usage page's daily chart: one stacked bar per day, one colour per key.
// Data: <canvas data-usage-chart="ID"> reads the JSON that Django's json_script wrote into #ID.
(function () {
  "use strict";
  const COLOURS = [
    "#1c6fd1", "#e08a00", "#1e8e4f", "#c0392b", "#7b4bc4",
    "#0f9bb0", "#b5508d", "#6b7f1a", "#8a5a2b", "#4a5568",
  ];
  const number = new Intl.NumberFormat();

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.usageChart);
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const datasets = data.datasets.map((dataset, i) => ({
      label: dataset.label,
      data: dataset.data,
      backgroundColor: COLOURS[i % COLOURS.length],
      borderWidth: 0,
      maxBarThickness: 28,
    }));
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, title: { display: true, text: "Day (UTC)" }, grid: { display: false } },
          y: {
            stacked: true,
            beginAtZero: true,
            title: { display: true, text: "Requests" },
            ticks: { callback: (value) => number.format(value) },
          },
        },
        plugins: {
          legend: { position: "bottom", display: datasets.length <= 20 },
          tooltip: {
            filter: (item) => item.parsed.y > 0,
            callbacks: {
              title: (items) => (items.length ? data.titles[items[0].dataIndex] : ""),
              label: (item) => `${item.dataset.label}: ${number.format(item.parsed.y)} requests`,
              footer: (items) => {
                const total = items.reduce((sum, item) => sum + item.parsed.y, 0);
                return `Total: ${number.format(total)} requests`;
              },
            },
          },
        },
      },
    });
  }

  document.querySelectorAll("canvas[data-usage-chart]").forEach(draw);
})();
