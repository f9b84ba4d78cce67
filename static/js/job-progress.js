// Job pages (screening/manage/job.html): reload every two seconds while the job is queued or running.
(function () {
  "use strict";
  if (document.querySelector("[data-job-active]")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
