/* What htmx leaves to the page: nothing typed during a request is lost, and focus lands
   somewhere sensible after a swap. A file of our own: the CSP allows no inline script. */
(function () {
  "use strict";

  // Values typed into a form while its request is under way, by form id, then field name.
  const typedDuringRequest = new Map();

  function parameter(parameters, name) {
    if (parameters && typeof parameters.get === "function") {
      return parameters.get(name);
    }
    return parameters ? parameters[name] : undefined;
  }

  function formOf(element) {
    if (!element || !element.closest) {
      return null;
    }
    return element.tagName === "FORM" ? element : element.closest("form");
  }

  document.addEventListener("htmx:configRequest", function (event) {
    const form = formOf(event.detail.elt);
    if (!form || !form.id || event.detail.elt !== form) {
      return;
    }
    typedDuringRequest.set(form.id, new Map());
    const cleared = form.querySelectorAll("[data-cleared-on-dial]");
    if (cleared.length && parameter(event.detail.parameters, "action") !== "save-preset") {
      // The request already holds the values: To and Label are emptied at once, so the
      // next caller can be typed while this one is sent.
      cleared.forEach(function (input) { input.value = ""; });
      cleared[0].focus();
    }
  });

  document.addEventListener("input", function (event) {
    const form = formOf(event.target);
    const typed = form && form.id ? typedDuringRequest.get(form.id) : undefined;
    if (typed && event.target.name && event.target.type !== "password") {
      typed.set(event.target.name, event.target.value);
    }
  });

  // Where the focus was when each request left: hx-disabled-elt disables the pressed
  // button, and a disabled button gives the focus up to <body> before the answer comes.
  const focusedAtRequest = new WeakMap();

  document.addEventListener("htmx:beforeRequest", function (event) {
    const active = document.activeElement;
    if (event.detail.xhr && active && active !== document.body) {
      focusedAtRequest.set(event.detail.xhr, active);
    }
  });

  function focusedBefore(detail) {
    const active = document.activeElement;
    if (active && active !== document.body) {
      return active;
    }
    return (detail.xhr && focusedAtRequest.get(detail.xhr)) || null;
  }

  // What a swap must do for the focus, decided before it (the swapped elements go away).
  let pendingFocus = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    const active = focusedBefore(event.detail);
    const target = event.detail.target;
    const inside = Boolean(active && active !== document.body && target && target.contains(active));
    pendingFocus = inside ? { targetId: target.id, typed: false } : null;
  });

  document.addEventListener("htmx:afterSwap", function () {
    typedDuringRequest.forEach(function (typed, formId) {
      const form = document.getElementById(formId);
      if (!form || typed.size === 0) {
        return;
      }
      if (pendingFocus) {
        pendingFocus.typed = true;
      }
      typed.forEach(function (value, name) {
        const field = form.elements.namedItem(name);
        if (field && "value" in field && field.type !== "hidden") {
          field.value = value;
        }
      });
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const form = formOf(event.detail.elt);
    if (form && form.id && event.detail.elt === form) {
      typedDuringRequest.delete(form.id);
    }
  });

  // Out-of-band swaps (a roster refreshed after a participant action) replace what may
  // hold the focus: it goes back to the same control, else to its row, else the region.
  let oobFocusIds = null;

  let lastRequestDetail = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    lastRequestDetail = event.detail;
  });

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const active = lastRequestDetail ? focusedBefore(lastRequestDetail) : document.activeElement;
    const target = event.detail.target;
    if (!active || active === document.body || !target || !target.contains(active)) {
      return;
    }
    oobFocusIds = [];
    for (let element = active; element && element !== target.parentElement; element = element.parentElement) {
      if (element.id) {
        oobFocusIds.push(element.id);
      }
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    const ids = oobFocusIds;
    oobFocusIds = null;
    if (!ids) {
      return;
    }
    const active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) {
      return;
    }
    const found = ids.map(function (id) { return document.getElementById(id); }).find(Boolean);
    if (found) {
      focusElement(found);
    }
  });

  function focusElement(target) {
    if (!target.matches("a[href], button, input, select, textarea, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: false });
  }

  function focusWithin(region) {
    const target =
      region.querySelector(".form-errors, [role=alert]") ||
      region.querySelector("[aria-invalid=true]") ||
      region.querySelector("[autofocus]") ||
      region;
    focusElement(target);
  }

  // After a swap that took the focused element away, focus goes to what changed: the
  // error summary, the first field to fix, or the swapped region itself, never <body>.
  // Someone typing during the request keeps their place (htmx brings back a field by id).
  // In the same task as the swap, not after htmx's settle delay: errors and focus arrive
  // together, so keys pressed as the errors appear never land in a field focus then leaves.
  document.addEventListener("htmx:afterSwap", function (event) {
    const wanted = pendingFocus;
    pendingFocus = null;
    if (!wanted || wanted.typed) {
      return;
    }
    const swapped = event.detail.elt;
    const region =
      wanted.targetId && document.getElementById(wanted.targetId)
        ? document.getElementById(wanted.targetId)
        : swapped && document.contains(swapped) ? swapped : null;
    if (!region || region === document.body) {
      return;
    }
    const summary = region.querySelector(".form-errors, .errorlist, [role=alert]");
    const active = document.activeElement;
    const lost = !active || active === document.body || !document.contains(active);
    if (summary || lost) {
      focusWithin(region);
    }
  });
})();
