"use strict";
// The care team's screens (tasks_app/screens/): live SLA countdowns, and pages that reload themselves.
// A static file, never inline, so the pages keep working under a strict Content-Security-Policy.
(function () {
  var LABELS = { "on-time": "On time", warning: "Warning", breached: "Breached" };

  // The same words as tasks_app/care_team.py: time_left_label.
  function span(minutes) {
    if (minutes < 60) return minutes + " min";
    var rest = minutes % 60;
    return Math.floor(minutes / 60) + " h " + (rest < 10 ? "0" : "") + rest + " min";
  }

  function timeLeft(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    return ms > 0 ? span(minutes) + " left" : "breached " + span(minutes) + " ago";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-breach-at]").forEach(function (clock) {
      var breach = Date.parse(clock.dataset.breachAt);
      var warning = Date.parse(clock.dataset.warningAt);
      var state = now >= breach ? "breached" : now >= warning ? "warning" : "on-time";
      clock.textContent = timeLeft(breach - now);
      var holder = clock.closest("[data-sla]");
      if (holder && holder.dataset.sla !== state) {
        holder.dataset.sla = state;
        var badge = holder.querySelector(".sla-badge");
        if (badge) badge.textContent = LABELS[state];
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    var page = document.querySelector("[data-refresh-seconds]");
    if (page) {
      var seconds = Number(page.dataset.refreshSeconds);
      if (seconds > 0) window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    }
  });
})();
