// The console's only script (it works without it): print buttons, and the progress of a
// running log verification, polled until it finishes.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  const status = document.getElementById("verify-status");
  if (!status || status.dataset.running !== "true") return;
  const poll = async () => {
    const answer = await fetch(status.dataset.progressUrl, { credentials: "same-origin" });
    if (!answer.ok) return;
    const run = await answer.json();
    if (!run.running) { window.location.reload(); return; }
    const bar = document.getElementById("verify-progress");
    const count = document.getElementById("verify-count");
    if (bar) bar.value = run.percent;
    if (count) count.textContent = `${run.checked.toLocaleString()} / ${run.total.toLocaleString()}`;
    window.setTimeout(poll, 500);
  };
  window.setTimeout(poll, 300);
});
