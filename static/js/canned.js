/* Canned replies in the dashboard's reply box. "/" at the start of the box or after a space
   opens a list of the agent's replies and the shared ones (GET /api/v1/agent/canned, loaded
   with the page and again at every opening), filtered by what follows the "/": "/ship" lists
   the replies whose shortcut or text contains "ship". Arrow keys and Enter (or Tab), or a click,
   put the reply's text in place of "/ship", with {{visitor.name}} and {{agent.name}} filled in;
   Escape closes the list. The agent edits the text and sends it as any reply (dashboard.js);
   an Enter while the list is still loading sends nothing. Text is only ever set as text, never
   as HTML. */
(function () {
  "use strict";
  var SOURCE = "/api/v1/agent/canned";
  var TOKEN = /(^|\s)\/([^\s\/]*)$/;         // a "/query" that ends at the caret
  var PLACEHOLDER = /\{\{\s*(visitor\.name|agent\.name)\s*\}\}/g;

  var replies = null;      // the list last loaded, or null before the first answer
  var failed = false;
  var open = null;         // {input, list, start, query, matches, active}
  var dismissed = null;    // {input, start}: the "/" whose list Escape closed stays closed
  var inserting = false;

  function load() {
    fetch(SOURCE, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (body) { replies = body.replies; failed = false; if (open) render(); },
            function () { failed = replies === null; if (open) render(); });
  }

  /* ---- which replies match ---- */

  function matching(query) {
    var q = query.toLowerCase();
    var ranked = [];
    (replies || []).forEach(function (reply, index) {
      var rank = reply.shortcut.indexOf(q) === 0 ? 0 : reply.shortcut.indexOf(q) > 0 ? 1
        : reply.text.toLowerCase().indexOf(q) >= 0 ? 2 : -1;
      if (rank >= 0) ranked.push({rank: rank, index: index, reply: reply});
    });
    ranked.sort(function (a, b) { return a.rank - b.rank || a.index - b.index; });
    return ranked.map(function (item) { return item.reply; });
  }

  function filled(text) {
    var chat = document.getElementById("chat");
    var dashboard = document.getElementById("dashboard");
    var values = {
      "visitor.name": chat && chat.dataset.visitorName,
      "agent.name": dashboard && dashboard.dataset.agentName
    };
    return text.replace(PLACEHOLDER, function (whole, name) { return values[name] || whole; });
  }

  /* ---- the list ---- */

  function listFor(input) {
    var list = document.getElementById("cannedPicker");
    if (list && list.parentNode === input.parentNode) return list;
    list = document.createElement("ul");
    list.id = "cannedPicker";
    list.className = "canned-picker";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Canned replies");
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });   // keep the focus in the box
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option && open) insert(open.matches[Number(option.dataset.index)]);
    });
    input.parentNode.appendChild(list);
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-autocomplete", "list");
    return list;
  }

  function render() {
    var list = open.list;
    open.matches = matching(open.query);
    open.active = Math.min(open.active, open.matches.length - 1);
    if (open.active < 0 && open.matches.length) open.active = 0;
    list.replaceChildren();
    if (!open.matches.length) {
      var empty = document.createElement("li");
      empty.className = "canned-empty";
      empty.textContent = replies === null ? (failed ? "Canned replies could not be loaded." : "Loading…")
        : replies.length ? "No canned reply matches /" + open.query + "."
        : "No canned replies yet: add some on your account page.";
      list.appendChild(empty);
    }
    open.matches.forEach(function (reply, index) {
      var option = document.createElement("li");
      option.id = "canned-option-" + reply.id;
      option.setAttribute("role", "option");
      option.dataset.index = index;
      option.className = "canned-option";
      var head = document.createElement("span");
      head.className = "canned-head";
      var shortcut = document.createElement("span");
      shortcut.className = "canned-shortcut";
      shortcut.textContent = "/" + reply.shortcut;
      var owner = document.createElement("span");
      owner.className = "canned-owner";
      owner.textContent = reply.shared ? "Shared" : "Yours";
      head.append(shortcut, " ", owner);
      var text = document.createElement("span");
      text.className = "canned-text";
      text.textContent = reply.text;
      option.append(head, text);
      list.appendChild(option);
    });
    list.hidden = false;
    highlight();
  }

  function highlight() {
    var options = open.list.querySelectorAll("[role=option]");
    for (var i = 0; i < options.length; i++) options[i].setAttribute("aria-selected", String(i === open.active));
    var active = options[open.active];
    if (active) {
      open.input.setAttribute("aria-activedescendant", active.id);
      active.scrollIntoView({block: "nearest"});
    } else {
      open.input.removeAttribute("aria-activedescendant");
    }
  }

  function show(input, start, query) {
    var fresh = !open || open.input !== input || open.start !== start;
    if (fresh) {
      close();
      open = {input: input, list: listFor(input), start: start, query: query, matches: [], active: 0};
      load();
    }
    open.query = query;
    if (!fresh) open.active = 0;
    render();
  }

  function close() {
    if (!open) return;
    open.list.hidden = true;
    open.list.replaceChildren();
    open.input.removeAttribute("aria-activedescendant");
    open = null;
  }

  function insert(reply) {
    if (!reply) return;
    var input = open.input;
    var text = filled(reply.text);
    var end = input.selectionStart;
    input.value = input.value.slice(0, open.start) + text + input.value.slice(end);
    var caret = open.start + text.length;
    input.setSelectionRange(caret, caret);
    close();
    input.focus();
    inserting = true;    // the draft is kept and typing shown, as for typed text (dashboard.js)
    try { input.dispatchEvent(new Event("input", {bubbles: true})); } finally { inserting = false; }
  }

  /* ---- the reply box ---- */

  function isReplyBox(element) {
    return element && element.id === "messageInput" && element.closest("#chat");
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (inserting || !isReplyBox(input)) return;
    var caret = input.selectionStart;
    var token = input.selectionEnd === caret && TOKEN.exec(input.value.slice(0, caret));
    if (!token) { dismissed = null; close(); return; }
    var start = caret - token[2].length - 1;
    if (dismissed && dismissed.input === input && dismissed.start === start) return;
    dismissed = null;
    show(input, start, token[2]);
  });

  // Capturing, so that Enter on an open list picks a reply instead of sending the box.
  document.addEventListener("keydown", function (event) {
    if (!open || event.target !== open.input || event.isComposing) return;
    var count = open.matches.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!count) return;
      open.active = (open.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      highlight();
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      if (count) insert(open.matches[open.active]);
      else if (replies !== null || failed) { close(); return; }   // nothing to pick: Enter sends what was typed
      // still loading: "/ship" is not sent by a quick Enter
    } else if (event.key === "Escape") {
      dismissed = {input: open.input, start: open.start};
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);

  document.addEventListener("focusout", function (event) {
    if (open && event.target === open.input) close();
  });
  if (document.getElementById("dashboard")) load();     // the first "/" has its list at once
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "chatWindow") close();    // the chat is drawn again
  });
})();
