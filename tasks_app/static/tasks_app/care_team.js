"use strict";
// The care team's screens (tasks_app/screens/, docs/screens.md): live SLA countdowns; the board's and the
// worklist's background updates (tiles, rows and the tab's title together, keeping focus, scroll, ticked boxes and
// anything typed); the opt-in sound and desktop alerts; the warning before the idle logout.
// A static file, never inline, so the pages keep working under a strict Content-Security-Policy.
(function () {
  var LABELS = { "on-time": "On time", soon: "Due soon", "at-risk": "At risk", breached: "Breached" };
  // tasks_app/care_team.py: SLA_SOON_FRACTION, SLA_AT_RISK_FRACTION (fractions of the SLA used).
  var SOON = 0.5;
  var AT_RISK = 0.75;
  var IDLE_WARNING_SECONDS = 60;
  var ALERTS_KEY = "sequora.careTeamAlerts";

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

  function slaState(now, breach, slaMinutes) {
    if (now >= breach) return "breached";
    var used = 1 - (breach - now) / (slaMinutes * 60000);
    return used >= AT_RISK ? "at-risk" : used >= SOON ? "soon" : "on-time";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-breach-at]").forEach(function (clock) {
      var breach = Date.parse(clock.dataset.breachAt);
      var state = slaState(now, breach, Number(clock.dataset.slaMinutes));
      var words = timeLeft(breach - now);
      if (clock.textContent !== words) clock.textContent = words;
      var holder = clock.closest("[data-sla]");
      if (holder && holder.dataset.sla !== state) {
        holder.dataset.sla = state;
        var badge = holder.querySelector(".sla-badge");
        if (badge) badge.textContent = LABELS[state];
      }
    });
  }

  // --- Background updates: each [data-live] element of the fragment replaces the page's one with its id -------

  function holdsUserState(element) {
    var active = document.activeElement;
    return (active && active !== document.body && element.contains(active)) ||
      element.querySelector("input:checked") !== null;
  }

  function copyAttributes(target, source) {
    Array.from(target.attributes).forEach(function (attribute) {
      if (!source.hasAttribute(attribute.name)) target.removeAttribute(attribute.name);
    });
    Array.from(source.attributes).forEach(function (attribute) {
      if (target.getAttribute(attribute.name) !== attribute.value) target.setAttribute(attribute.name, attribute.value);
    });
  }

  // Elements without the user's focus or ticks are replaced whole; the others are changed in place, their children
  // matched by id (rows, cards) or by position (cells), so the focused link or a ticked box stays the same node.
  function morph(old, fresh) {
    if (old.isEqualNode(fresh)) return old;
    if (old.nodeType !== 1 || old.nodeName !== fresh.nodeName || !holdsUserState(old)) {
      old.replaceWith(fresh);
      return fresh;
    }
    copyAttributes(old, fresh);
    var freshKids = Array.from(fresh.childNodes);
    var oldKids = Array.from(old.childNodes);
    var keyed = freshKids.every(function (kid) { return kid.nodeType !== 1 || kid.id; });
    var byId = {};
    oldKids.forEach(function (kid) { if (kid.nodeType === 1 && kid.id) byId[kid.id] = kid; });
    var result = freshKids.map(function (kid, index) {
      var match = keyed ? (kid.nodeType === 1 ? byId[kid.id] : null) : oldKids[index];
      if (match && match.nodeType === 1 && kid.nodeType === 1) {
        delete byId[kid.id];
        return morph(match, kid);
      }
      if (match && match.nodeType === 3 && kid.nodeType === 3) {
        if (match.nodeValue !== kid.nodeValue) match.nodeValue = kid.nodeValue;
        return match;
      }
      return kid;
    });
    Array.from(old.childNodes).forEach(function (node) { if (result.indexOf(node) < 0) node.remove(); });
    result.forEach(function (node, index) {
      if (old.childNodes[index] !== node) old.insertBefore(node, old.childNodes[index] || null);
    });
    return old;
  }

  function applyFragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var active = document.activeElement;
    var fresh = template.content.querySelectorAll("[data-live][id]");
    if (fresh.length === 0) return false; // not a fragment: the login page, the session having ended
    fresh.forEach(function (element) {
      var old = document.getElementById(element.id);
      if (old) morph(old, element);
    });
    if (active && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
    var status = document.getElementById("live-status");
    if (status && status.dataset.pageTitle) document.title = status.dataset.pageTitle;
    tick();
    return true;
  }

  function live(page) {
    var url = page.dataset.liveUrl;
    var seconds = Number(page.dataset.refreshSeconds);
    var idleSeconds = Number(page.dataset.idleSeconds);
    var lastActivity = Date.now();
    var alerts = watchForAlerts();

    function fetchFragment(background) {
      // A background refresh says so: it does not count as the user's activity (the idle logout still comes).
      var headers = background ? { "X-Background-Refresh": "1" } : {};
      return fetch(url, { headers: headers, credentials: "same-origin" }).then(function (response) {
        return response.text().then(function (html) {
          if (!response.ok || !applyFragment(html)) {
            if (response.redirected) window.location.reload(); // signed out: the login page, with "next"
            return false;
          }
          alerts.check();
          return true;
        });
      });
    }

    // One background request at a time: a slow server is not sent a queue of them.
    var waiting = false;
    if (seconds > 0 && url) {
      window.setInterval(function () {
        if (waiting) return;
        waiting = true;
        fetchFragment(true).catch(function () {}).then(function () { waiting = false; });
      }, seconds * 1000);
    }

    var warning = document.querySelector("[data-idle-warning]");
    if (!(idleSeconds > 0) || !warning) return;
    var left = warning.querySelector("[data-idle-left]");
    warning.querySelector("[data-stay-signed-in]").addEventListener("click", function () {
      fetchFragment(false).then(function (ok) {
        if (!ok) return;
        lastActivity = Date.now();
        warning.hidden = true;
      }).catch(function () {});
    });
    window.setInterval(function () {
      var remaining = Math.ceil(idleSeconds - (Date.now() - lastActivity) / 1000);
      if (remaining <= 0) { window.location.reload(); return; }
      if (remaining <= IDLE_WARNING_SECONDS) {
        left.textContent = remaining + " s";
        if (warning.hidden) {
          warning.hidden = false;
          warning.querySelector("[data-stay-signed-in]").focus();
        }
      }
    }, 1000);
  }

  // --- Opt-in alerts: a sound and a desktop notification for a new breach or a new CRITICAL task ------------------

  function watchForAlerts() {
    var toggle = document.querySelector("[data-alerts-toggle]");
    var seen = status();

    function status() {
      var element = document.getElementById("live-status");
      return element ? { breached: Number(element.dataset.breached), critical: element.dataset.newestCritical } : {};
    }

    function on() { return window.localStorage.getItem(ALERTS_KEY) === "on"; }

    function show() {
      if (!toggle) return;
      toggle.hidden = false;
      toggle.setAttribute("aria-pressed", on() ? "true" : "false");
      toggle.textContent = "Sound and desktop alerts: " + (on() ? "on" : "off");
    }

    function beep() {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      var audio = new Context();
      var tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    }

    function notify(words) {
      beep();
      // Words only, no patient: a desktop notification shows on a locked screen.
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification(words, { body: "Sequora care team", tag: "sequora-care-team" });
      }
    }

    if (toggle) {
      toggle.addEventListener("click", function () {
        window.localStorage.setItem(ALERTS_KEY, on() ? "off" : "on");
        if (on() && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
        show();
      });
      show();
    }

    return {
      check: function () {
        var now = status();
        if (on()) {
          if (now.breached > seen.breached) notify("A task has breached its time");
          else if (now.critical && now.critical !== seen.critical) notify("A new critical task");
        }
        seen = now;
      },
    };
  }

  // "Select all" of a bulk form, and how many are selected (said to screen readers as it changes). Delegated: rows
  // come and go with the background updates.
  function bulkForm(form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    function update() {
      var boxes = form.querySelectorAll("input[name=task]");
      var picked = form.querySelectorAll("input[name=task]:checked").length;
      if (count) count.textContent = picked ? picked + " selected" : "";
      if (all) all.checked = picked > 0 && picked === boxes.length;
    }
    if (all) all.closest("label").hidden = false;
    form.addEventListener("change", function (event) {
      if (event.target === all) {
        form.querySelectorAll("input[name=task]").forEach(function (box) { box.checked = all.checked; });
      }
      update();
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
    document.querySelectorAll(".bulk-form").forEach(bulkForm);
    var page = document.querySelector("[data-live-url]");
    if (page) live(page);
  });
})();
