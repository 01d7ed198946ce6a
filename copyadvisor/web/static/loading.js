// The loading page: polls /healthz, shows the stage, percent and estimate, and reloads the
// page (which is then the app) once the server is ready. No inline script: CSP script-src 'self'.
(function () {
  "use strict";
  var lang = document.getElementById("loading").getAttribute("data-lang") || "en";
  var names = {};
  try { names = JSON.parse(document.getElementById("loading").getAttribute("data-names") || "{}"); } catch (e) { names = {}; }
  var stage = document.getElementById("stage"), fill = document.getElementById("fill"), bar = fill.parentNode;
  var percent = document.getElementById("percent"), estimate = document.getElementById("estimate");
  var tasks = document.getElementById("tasks"), failure = document.getElementById("failure");

  function show(loading) {
    stage.textContent = loading.message || "";
    var known = typeof loading.percent === "number";
    bar.classList.toggle("unknown", !known);
    fill.style.width = known ? loading.percent + "%" : "";
    bar.setAttribute("aria-valuenow", known ? String(loading.percent) : "");
    percent.textContent = known ? Math.floor(loading.percent) + " %" : "";
    estimate.textContent = loading.estimate || "";
    tasks.textContent = "";
    (loading.tasks || []).forEach(function (task) {
      var item = document.createElement("li"), name = document.createElement("b");
      name.textContent = (names[task.task] || task.task) + ": ";
      item.appendChild(name);
      var parts = [task.message];
      if (!task.finished && typeof task.percent === "number") parts.push(Math.floor(task.percent) + " %");
      if (!task.finished && task.estimate) parts.push(task.estimate);
      if (task.finished && typeof task.seconds === "number") parts.push(task.seconds.toFixed(1) + " s");
      item.appendChild(document.createTextNode(parts.join(" · ")));
      if (task.finished) item.className = "done";
      tasks.appendChild(item);
    });
  }

  function poll() {
    fetch("/healthz?lang=" + encodeURIComponent(lang), { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (health) {
        if (health.loading) show(health.loading);
        if (health.status === "ready") { window.location.reload(); return; }
        if (health.status === "error") {
          failure.hidden = false;
          failure.textContent = (health.loading && health.loading.message ? health.loading.message + ": " : "") + (health.error || "");
          return;  // nothing more will happen: the server log says why
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 2000); });  // the server is restarting or not up yet
  }
  poll();
})();
