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

  // The board's selections: a reload would drop them, so it waits while a task is ticked or a choice is open.
  function choosing() {
    var active = document.activeElement;
    return document.querySelector(".bulk-form input[name=task]:checked") !== null ||
      (active !== null && active.tagName === "SELECT" && active.closest(".bulk-form") !== null);
  }

  function reloadWhenIdle(seconds) {
    window.setTimeout(function () {
      if (choosing()) reloadWhenIdle(seconds);
      else window.location.reload();
    }, seconds * 1000);
  }

  // "Select all" of a bulk form, and how many are selected (said to screen readers as it changes).
  function bulkForm(form) {
    var boxes = form.querySelectorAll("input[name=task]");
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    function update() {
      var picked = form.querySelectorAll("input[name=task]:checked").length;
      if (count) count.textContent = picked ? picked + " selected" : "";
      if (all) all.checked = picked > 0 && picked === boxes.length;
    }
    if (all) {
      all.closest("label").hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    document.querySelectorAll(".bulk-form").forEach(bulkForm);
    var page = document.querySelector("[data-refresh-seconds]");
    if (page) {
      var seconds = Number(page.dataset.refreshSeconds);
      if (seconds > 0) reloadWhenIdle(seconds);
    }
  });
})();
