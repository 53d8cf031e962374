"use strict";
// The shift page's nurse field is admin's autocomplete (select2): its combobox is named by the chosen nurse only, so
// with none chosen it has no name for a screen reader (axe: aria-input-field-name). Name it by its field's label
// too, on the combobox and on the text it shows. A static file, never inline (the CSP).
(function () {
  function name() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = document.querySelector("label[for='" + select.id + "']");
      var box = select.parentNode.querySelector(".select2-selection");
      var shown = select.parentNode.querySelector(".select2-selection__rendered");
      if (!label || !box || !shown) return;
      label.id = label.id || select.id + "_label";
      shown.id = shown.id || select.id + "_shown";
      // The field's label, then the nurse shown (empty until one is chosen), for both of select2's named parts.
      [box, shown].forEach(function (part) {
        part.setAttribute("aria-labelledby", label.id + " " + shown.id);
      });
    });
  }
  // After admin's autocomplete.js built the widgets: its jQuery ready handler was registered first (a head script),
  // and jQuery runs ready handlers in that order.
  if (window.django && window.django.jQuery) window.django.jQuery(name);
})();
