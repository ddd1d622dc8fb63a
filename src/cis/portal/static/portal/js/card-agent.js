// Card task buttons: start the task in CIS, hand it to the local card agent, go to its page.
//
// The task's reference and one-time secret go to the agent in a JSON body (never a URL); the
// passcode is typed on the agent's own page, never on this one. When no agent answers, the
// box with the command to start it (and the command that does the same step) is shown.
(function () {
  "use strict";

  function show(element) {
    if (element) {
      element.hidden = false;
      if (element.focus) { element.focus(); }
    }
  }

  function problem(box, message) {
    var error = box.querySelector("[data-card-task-error]");
    var text = box.querySelector("[data-card-task-message]");
    if (text) { text.textContent = message; }
    show(error);
  }

  async function start(form) {
    var box = form.closest(".cis-card-task") || form.parentElement;
    var agent = form.getAttribute("data-agent-url");
    box.querySelectorAll("[data-card-task-error], [data-card-task-fallback]").forEach(function (e) {
      e.hidden = true;
    });
    try {
      var status = await fetch(agent + "/status", { method: "GET", mode: "cors", credentials: "omit" });
      if (!status.ok) { throw new Error("agent refused"); }
    } catch (e) {
      show(box.querySelector("[data-card-task-fallback]"));
      return;
    }
    var created = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    });
    var task = await created.json().catch(function () { return {}; });
    if (!created.ok) {
      problem(box, task.error || "CIS refused to start this task.");
      return;
    }
    var handed = await fetch(agent + "/tasks", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ task: task.task, secret: task.secret, return_url: window.location.href })
    }).catch(function () { return null; });
    if (handed === null) {
      show(box.querySelector("[data-card-task-fallback]"));
      return;
    }
    var answer = await handed.json().catch(function () { return {}; });
    if (!handed.ok || !answer.confirm_url || answer.confirm_url.indexOf(agent + "/confirm/") !== 0) {
      problem(box, answer.error || "The card agent did not take the task.");
      return;
    }
    window.location.assign(answer.confirm_url);
  }

  document.querySelectorAll("form[data-card-task]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start(form);
    });
  });
})();
