"use strict";
// The task page and its action pages (tasks_app/screens/task_actions.py): nothing typed is lost, and phrases a nurse
// reuses are one tap away. A static file, never inline, so the pages keep working under a strict CSP.
//
// Drafts: what she types in a form marked data-draft-key (its key names the user, the task and the form, so a shared
// ward PC never offers one nurse's draft to another) is kept in the browser's localStorage as she types. An idle
// logout, a reload or a closed tab loses nothing: the same form, opened again (after logging in, admin's login
// returns to it with next=), is filled in again and says "Draft restored". The server names the drafts it saved
// (a message tagged draft-saved and the key): those are dropped. A draft is kept at most DRAFT_HOURS.
(function () {
  var DRAFT_HOURS = 12;

  function read(key) {
    try {
      var draft = JSON.parse(window.localStorage.getItem(key) || "null");
      if (draft && Date.now() - draft.savedAt < DRAFT_HOURS * 3600000) return draft;
    } catch (ignored) { /* storage off or unreadable: no draft */ }
    window.localStorage.removeItem(key);
    return null;
  }

  function clock(ms) {
    var at = new Date(ms);
    return (at.getHours() < 10 ? "0" : "") + at.getHours() + ":" + (at.getMinutes() < 10 ? "0" : "") + at.getMinutes();
  }

  function fieldsOf(form) {
    return form.querySelectorAll("textarea, input[type=radio], input[type=time], input[type=text], select");
  }

  function save(form) {
    var values = {};
    var typed = false;
    fieldsOf(form).forEach(function (field) {
      if (field.type === "radio") {
        if (field.checked) values[field.name] = field.value;
        if (field.checked && field.value) typed = true;
      } else {
        values[field.name] = field.value;
        if (field.value.trim()) typed = true;
      }
    });
    if (typed) window.localStorage.setItem(form.dataset.draftKey, JSON.stringify({ savedAt: Date.now(), values: values }));
    else window.localStorage.removeItem(form.dataset.draftKey);
  }

  function restore(form, draft) {
    fieldsOf(form).forEach(function (field) {
      if (!(field.name in draft.values)) return;
      if (field.type === "radio") field.checked = field.value === draft.values[field.name];
      else field.value = draft.values[field.name];
    });
    form.querySelectorAll("[data-draft-status-for]").forEach(function (status) {
      status.textContent = "Draft restored (typed at " + clock(draft.savedAt) + "): check it, then submit.";
      status.classList.add("restored");
    });
  }

  function keep(form) {
    var key = form.dataset.draftKey;
    var draft = read(key);
    var blank = Array.prototype.every.call(form.querySelectorAll("textarea"), function (area) {
      return !area.value.trim();
    });
    // A form the server sent back with an error already holds what was typed: it wins over the draft.
    if (draft && blank) restore(form, draft);
    form.addEventListener("input", function () { save(form); });
    form.addEventListener("change", function () { save(form); });
  }

  function dropSaved() {
    document.querySelectorAll(".messagelist .draft-saved").forEach(function (message) {
      message.classList.forEach(function (name) {
        if (name.indexOf("draft-") === 0 && name !== "draft-saved") window.localStorage.removeItem(name);
      });
    });
  }

  function phrases(box) {
    var area = document.getElementById(box.dataset.phrasesFor);
    if (!area) return;
    box.hidden = false;
    box.querySelectorAll("[data-phrase]").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = area.value.trim();
        area.value = (text ? text + " " : "") + button.dataset.phrase;
        area.dispatchEvent(new Event("input", { bubbles: true }));
        area.focus();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    dropSaved();
    document.querySelectorAll("form[data-draft-key]").forEach(keep);
    document.querySelectorAll("[data-phrases-for]").forEach(phrases);
  });
})();
