// Bars sized by the server (treatment timeline, job progress): data-left and data-width are
// percentages, applied here through the CSSOM because the Content-Security-Policy refuses
// style attributes in the markup.
(function () {
  "use strict";
  document.querySelectorAll("[data-left], [data-width]").forEach(function (el) {
    if (el.dataset.left !== undefined) { el.style.left = el.dataset.left + "%"; }
    if (el.dataset.width !== undefined) { el.style.width = el.dataset.width + "%"; }
  });
})();
