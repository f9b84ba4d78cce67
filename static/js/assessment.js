// Live SLEDAI-2K: every change posts the form to the server, which scores it
// with the same module that stores the score. No client-side weights.
(function () {
  "use strict";
  var form = document.getElementById("assessment-form");
  if (!form) { return; }
  var url = form.dataset.previewUrl;
  var pending = null;
  function show(lowHigh, low, high) {
    return low === high ? String(low) : low + "–" + high;
  }
  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(url, { method: "POST", body: new FormData(form), signal: pending.signal, credentials: "same-origin",
                 headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        document.getElementById("sledai-score").textContent = show(null, data.low, data.high);
        document.getElementById("csledai-score").textContent = show(null, data.clinical_low, data.clinical_high);
        document.getElementById("sledai-note").textContent = data.not_assessed
          ? data.not_assessed + " descriptor(s) not assessed: the score lies in this range."
          : "All descriptors assessed (" + data.band + " activity by the S5 grading).";
        form.dataset.score = show(null, data.low, data.high);
      })
      .catch(function () { /* aborted or offline: keep the last value */ });
  }
  form.addEventListener("change", function (e) {
    if (e.target && e.target.name && e.target.name.indexOf("sledai_") === 0) { refresh(); }
  });
  refresh();
})();
