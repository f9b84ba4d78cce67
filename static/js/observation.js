// Lab form: choosing a test offers only its units, and the eGFR box only for a creatinine (the server checks both).
(function () {
  "use strict";
  var code = document.getElementById("id_code");
  var unit = document.getElementById("id_unit");
  var egfr = document.getElementById("id_add_egfr");
  if (!code || !unit || !code.dataset.units) { return; }
  var units = JSON.parse(code.dataset.units);
  var egfrBox = egfr ? (egfr.closest(".mb-3") || egfr.parentNode) : null;
  function update() {
    var allowed = units[code.value] || null;
    Array.prototype.forEach.call(unit.options, function (option) {
      var offered = !option.value || !allowed || allowed.indexOf(option.value) >= 0;
      option.hidden = !offered;
      option.disabled = !offered;
    });
    if (allowed && unit.value && allowed.indexOf(unit.value) < 0) { unit.value = ""; }
    if (allowed && allowed.length === 1 && !unit.value) { unit.value = allowed[0]; }
    if (egfrBox) {
      var creatinine = code.value === "creatinine";
      egfrBox.hidden = !creatinine;
      if (!creatinine) { egfr.checked = false; }
    }
  }
  code.addEventListener("change", update);
  update();
})();
