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
        var note = [];
        if (data.unanswered) { note.push(data.unanswered + " descriptor(s) not answered yet"); }
        if (data.not_assessed) { note.push(data.not_assessed + " not assessed"); }
        document.getElementById("sledai-note").textContent = note.length
          ? note.join(", ") + ": the score lies in this range."
          : "All descriptors assessed (" + data.band + " activity by the S5 grading).";
        form.dataset.score = show(null, data.low, data.high);
      })
      .catch(function () { /* aborted or offline: keep the last value */ });
  }
  // "Mark the rest absent": every descriptor still unanswered gets its "absent" radio, here in the page.
  // Without this script the button posts the form and the server shows it again the same way, unsaved.
  var markRest = document.getElementById("mark-rest-absent");
  if (markRest) {
    markRest.addEventListener("click", function (e) {
      e.preventDefault();
      var names = {};
      form.querySelectorAll("input[type=radio][name^='sledai_']").forEach(function (r) { names[r.name] = true; });
      var marked = 0;
      Object.keys(names).forEach(function (name) {
        var group = form.querySelectorAll("input[type=radio][name='" + name + "']");
        var answered = Array.prototype.some.call(group, function (r) { return r.checked; });
        if (answered) { return; }
        Array.prototype.forEach.call(group, function (r) {
          if (r.value === markRest.dataset.restValue) { r.checked = true; marked += 1; }
        });
      });
      if (marked) { refresh(); }
    });
  }
  form.addEventListener("change", function (e) {
    if (e.target && e.target.name && e.target.name.indexOf("sledai_") === 0) { refresh(); }
  });
  refresh();
})();
