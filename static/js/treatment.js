// Treatment form: choosing a drug selects its dose unit (the server refuses any other unit).
(function () {
  "use strict";
  var drug = document.getElementById("id_drug");
  var unit = document.getElementById("id_dose_unit");
  if (!drug || !unit || !drug.dataset.units) { return; }
  var units = JSON.parse(drug.dataset.units);
  drug.addEventListener("change", function () {
    if (units[drug.value]) { unit.value = units[drug.value]; }
  });
})();
