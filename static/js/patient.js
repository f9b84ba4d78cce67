// SLEDAI-2K over time on the patient page (data from a json_script block).
(function () {
  "use strict";
  var node = document.getElementById("sledai-data");
  var canvas = document.getElementById("sledai-chart");
  if (!node || !canvas || typeof Chart === "undefined") { return; }
  var series = JSON.parse(node.textContent);
  new Chart(canvas, {
    type: "line",
    data: {
      labels: series.map(function (p) { return p.label || p.date; }),
      datasets: [
        { label: "SLEDAI-2K (lower bound)", data: series.map(function (p) { return p.low; }), borderColor: "#0d6efd", tension: 0 },
        { label: "SLEDAI-2K (upper bound)", data: series.map(function (p) { return p.high; }), borderColor: "#adb5bd", borderDash: [4, 4], tension: 0 }
      ]
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, suggestedMax: 20 } } }
  });
})();
