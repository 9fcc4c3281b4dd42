/* The messages of one conversation, in seq order, each shown exactly once, all drawn
 * by `fillMessage` (history, live, pending): one way to render a message.
 *
 * A message is shown only when it comes from the server; an optimistic copy
 * (same client_id) is replaced by it. A message whose seq leaves a gap waits
 * until the missing ones arrive through `requestSync(afterSeq)`.
 */
(function (global) {
  "use strict";

  function MessageLog(list, options) {
    this.list = list;
    this.mine = options.mine;               // sender_type drawn on the right
    this.interactive = Boolean(options.interactive);   // the bot's buttons and form can be used (the widget)
    this.requestSync = options.requestSync || function () {};
    this.onShown = options.onShown || function () {};
    this.lastSeq = 0;
    this.held = {};                         // seq -> message, waiting for a gap to fill
    this.syncingAfter = null;
    this.showHistory();
  }

  /* Pages of stored messages the server put in the list as JSON (`<div
     class="message-history" data-messages="[...]">`: the latest page when a chat opens,
     an earlier page above it on demand), each drawn in place of its page. */
  MessageLog.prototype.showHistory = function () {
    var pages = this.list.querySelectorAll(".message-history");
    for (var i = 0; i < pages.length; i++) {
      var messages = JSON.parse(pages[i].dataset.messages);
      for (var j = 0; j < messages.length; j++) {
        var element = document.createElement("div");
        fillMessage(element, messages[j], this.mine, this.interactive);
        this.list.insertBefore(element, pages[i]);
        this.lastSeq = Math.max(this.lastSeq, messages[j].seq);
      }
      pages[i].remove();
    }
  };

  MessageLog.prototype.accept = function (message) {
    if (!message || typeof message.seq !== "number") return;
    if (message.seq <= this.lastSeq) { this.dropPending(message.client_id); return; }
    if (message.seq > this.lastSeq + 1) {
      this.held[message.seq] = message;
      if (this.syncingAfter !== this.lastSeq) {
        this.syncingAfter = this.lastSeq;
        this.requestSync(this.lastSeq);
      }
      return;
    }
    this.show(message);
    while (this.held[this.lastSeq + 1]) {
      var next = this.held[this.lastSeq + 1];
      delete this.held[this.lastSeq + 1];
      this.show(next);
    }
  };

  /* The server says its latest seq is `latest`: fetch what never arrived (an event
   * lost on the way leaves no gap to see when it was the last one). */
  MessageLog.prototype.catchUp = function (latest) {
    if (typeof latest === "number" && latest > this.lastSeq) this.requestSync(this.lastSeq);
  };

  MessageLog.prototype.acceptAll = function (messages) {
    this.syncingAfter = null;
    for (var i = 0; i < messages.length; i++) this.accept(messages[i]);
  };

  /* One page of a `sync` or poll answer; while the server says there is more, ask for
   * the next page (only when this one moved us on, so a bad answer cannot loop). */
  MessageLog.prototype.acceptPage = function (page) {
    var before = this.lastSeq;
    var messages = page.messages || [];
    // A visitor's page holds everything for the visitor up to `through_seq`: a seq it skips
    // is a private note of the team, not a message still on its way.
    var covered = typeof page.through_seq === "number";
    this.syncingAfter = null;
    for (var i = 0; i < messages.length; i++) {
      var message = messages[i];
      if (covered && message && typeof message.seq === "number") this.skipTo(message.seq - 1);
      this.accept(message);
    }
    if (covered) this.skipTo(page.through_seq);
    if (page.has_more && this.lastSeq > before) this.requestSync(this.lastSeq);
  };

  /* Nothing up to `seq` is for this reader any more: go on from there. */
  MessageLog.prototype.skipTo = function (seq) {
    if (seq <= this.lastSeq) return;
    this.lastSeq = seq;
    for (var held in this.held) if (Number(held) <= seq) delete this.held[held];
    while (this.held[this.lastSeq + 1]) {
      var next = this.held[this.lastSeq + 1];
      delete this.held[this.lastSeq + 1];
      this.show(next);
    }
  };

  MessageLog.prototype.show = function (message) {
    this.lastSeq = message.seq;
    var element = this.pendingElement(message.client_id) || document.createElement("div");
    fillMessage(element, message, this.mine, this.interactive);
    // Stored messages stay in seq order above the ones still being sent (null: at the end).
    this.list.insertBefore(element, this.list.querySelector(".message.pending:not(.failed)"));
    this.onShown(message);
  };

  /* The bot's answer so far (`bot_draft`), at the end of the list until the stored message
     with the same client_id takes its place. */
  MessageLog.prototype.showDraft = function (clientId, text, senderName) {
    var element = this.pendingElement(clientId);
    if (!element) {
      element = document.createElement("div");
      this.list.appendChild(element);
    }
    fillMessage(element, {client_id: clientId, sender_type: "bot", sender_name: senderName, text: text,
                          created_at: null}, this.mine, false);
    element.classList.add("pending", "draft");
    element.querySelector(".message-time").textContent = "Writing…";
  };

  /* Drafts whose message will not come (an agent took the chat meanwhile). */
  MessageLog.prototype.dropDrafts = function () {
    var drafts = this.list.querySelectorAll(".message.draft");
    for (var i = 0; i < drafts.length; i++) drafts[i].remove();
  };

  MessageLog.prototype.addPending = function (clientId, text, senderName, isPrivate) {
    var element = document.createElement("div");
    fillMessage(element, {client_id: clientId, sender_type: this.mine, sender_name: senderName,
                          text: text, created_at: null, private: Boolean(isPrivate)}, this.mine);
    element.classList.add("pending");
    this.list.appendChild(element);
    return element;
  };

  MessageLog.prototype.pendingElement = function (clientId) {
    if (!clientId) return null;
    var items = this.list.querySelectorAll(".message.pending");
    for (var i = 0; i < items.length; i++) {
      if (items[i].dataset.clientId === clientId) return items[i];
    }
    return null;
  };

  MessageLog.prototype.dropPending = function (clientId) {
    var element = this.pendingElement(clientId);
    if (element) element.remove();
  };

  /* A refused message says why; `onRetry`, when given, is what its Retry button does. */
  MessageLog.prototype.markFailed = function (clientId, reason, onRetry) {
    var element = this.pendingElement(clientId);
    if (!element) return;
    element.classList.add("failed");
    var time = element.querySelector(".message-time");
    time.textContent = reason;
    if (onRetry) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry";
      retry.textContent = "Retry";
      retry.addEventListener("click", function () { element.remove(); onRetry(); });
      time.append(" ", retry);
    }
  };

  function fillMessage(element, message, mine, interactive) {
    element.className = "message message-" + message.sender_type +
      (message.sender_type === mine ? " mine" : "") + (message.private ? " note" : "");
    if (message.seq) element.dataset.seq = message.seq;
    if (message.client_id) element.dataset.clientId = message.client_id;
    element.textContent = "";
    if (message.sender_type !== "system") {
      var sender = document.createElement("div");
      sender.className = "message-sender";
      sender.textContent = message.sender_name || "";
      if (message.private) {
        var label = document.createElement("span");
        label.className = "note-label";
        label.textContent = "Note · only the team sees this";
        sender.append(" ", label);
      }
      element.appendChild(sender);
    }
    var text = document.createElement("div");
    text.className = "message-text";
    appendLinkedText(text, message.text || "");
    element.appendChild(text);
    if (message.links && message.links.length) element.appendChild(linkList(message.links));
    if (message.buttons && message.buttons.length) element.appendChild(quickReplies(message.buttons, interactive));
    if (message.form === "offline") element.appendChild(interactive ? offlineForm() : formNote());
    var time = document.createElement("div");
    time.className = "message-time";
    time.textContent = message.created_at ? formatTime(message.created_at) : "Sending…";
    element.appendChild(time);
  }

  /* The articles an answer came from: a path on this server or an http(s) URL, each a link
     whose text is the title (as text). */
  function linkList(links) {
    var list = document.createElement("ul");
    list.className = "message-links";
    for (var i = 0; i < links.length; i++) {
      var url = String(links[i].url || "");
      if (!/^(\/[^\/\\]|https?:\/\/)/i.test(url)) continue;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.setAttribute("href", url);
      link.setAttribute("target", "_blank");
      link.setAttribute("rel", "noopener noreferrer");
      link.textContent = links[i].title || url;
      item.appendChild(link);
      list.appendChild(item);
    }
    return list;
  }

  /* The bot's quick replies; only the widget's can be pressed (the team sees what was offered). */
  function quickReplies(buttons, interactive) {
    var box = document.createElement("div");
    box.className = "quick-replies";
    for (var i = 0; i < buttons.length; i++) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "quick-reply";
      button.dataset.buttonId = String(buttons[i].id);
      button.textContent = buttons[i].title;
      button.disabled = !interactive;
      box.appendChild(button);
    }
    return box;
  }

  /* The offline form: while nobody can answer, an email and a message for the team. */
  function offlineForm() {
    var form = document.createElement("form");
    form.className = "offline-form";
    form.noValidate = true;
    var email = document.createElement("input");
    email.type = "email";
    email.name = "email";
    email.maxLength = 254;
    email.required = true;
    email.placeholder = "Your email";
    email.setAttribute("aria-label", "Your email");
    email.autocomplete = "email";
    var text = document.createElement("textarea");
    text.name = "text";
    text.rows = 3;
    text.required = true;
    text.placeholder = "Your message";
    text.setAttribute("aria-label", "Your message");
    var error = document.createElement("p");
    error.className = "form-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    var send = document.createElement("button");
    send.type = "submit";
    send.className = "primary";
    send.textContent = "Send to the team";
    form.append(email, text, error, send);
    return form;
  }

  function formNote() {
    var note = document.createElement("div");
    note.className = "message-form-note";
    note.textContent = "Offered the form to leave a message";
    return note;
  }

  /* Text as text nodes, with each http(s) URL in it an <a> whose href is exactly that URL
     (no other scheme is ever a link; punctuation ending a sentence stays outside). */
  var URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;

  function appendLinkedText(parent, text) {
    var done = 0;
    var match;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      var url = trimUrl(match[0]);
      if (!/^https?:\/\/[^\/?#]/i.test(url)) continue;
      appendText(parent, text.slice(done, match.index));
      var link = document.createElement("a");
      link.setAttribute("href", url);
      link.setAttribute("target", "_blank");
      link.setAttribute("rel", "noopener noreferrer");
      link.textContent = url;
      parent.appendChild(link);
      done = match.index + url.length;
    }
    appendText(parent, text.slice(done));
  }

  function appendText(parent, text) {
    if (text) parent.appendChild(document.createTextNode(text));
  }

  /* Drops trailing punctuation; a closing bracket stays when the URL opened it
     (https://en.wikipedia.org/wiki/Tea_(meal)). */
  function trimUrl(url) {
    var pairs = {")": "(", "]": "[", "}": "{"};
    for (;;) {
      var last = url.charAt(url.length - 1);
      if (".,;:!?'\"*".indexOf(last) >= 0 ||
          (pairs[last] && url.split(pairs[last]).length < url.split(last).length)) {
        url = url.slice(0, -1);
      } else {
        return url;
      }
    }
  }

  function formatTime(iso) {
    var moment = new Date(iso);
    return isNaN(moment) ? "" : moment.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
  }

  /* Shows "<name> is typing…" and hides it 3 s after the last update. */
  function TypingIndicator(element) {
    this.element = element;
    this.timer = null;
  }
  TypingIndicator.prototype.update = function (name, isTyping) {
    clearTimeout(this.timer);
    this.element.hidden = !isTyping;
    this.element.textContent = isTyping ? (name || "Someone") + " is typing…" : "";
    if (isTyping) {
      var self = this;
      this.timer = setTimeout(function () { self.update(null, false); }, 3000);
    }
  };

  /* Sends typing true at most every 1.5 s while keys are pressed, false after 2 s idle. */
  function TypingNotifier(send) {
    this.send = send;
    this.lastSent = 0;
    this.idleTimer = null;
  }
  TypingNotifier.prototype.keystroke = function () {
    var now = Date.now();
    if (now - this.lastSent > 1500) { this.lastSent = now; this.send(true); }
    clearTimeout(this.idleTimer);
    var self = this;
    this.idleTimer = setTimeout(function () { self.stop(); }, 2000);
  };
  TypingNotifier.prototype.stop = function () {
    clearTimeout(this.idleTimer);
    if (this.lastSent) { this.lastSent = 0; this.send(false); }
  };

  /* Live / Connecting / Reconnecting / Offline. */
  function showConnection(element, state) {
    element.textContent = state;
    element.dataset.state = state.toLowerCase();
  }

  /* The connection state, from a Socket.IO socket's events. */
  function watchConnection(socket, element) {
    function set(state) { showConnection(element, state); }
    set(navigator.onLine === false ? "Offline" : "Connecting");
    socket.on("connect", function () { set("Live"); });
    socket.on("disconnect", function () { set(navigator.onLine === false ? "Offline" : "Reconnecting"); });
    socket.on("connect_error", function () {
      set(navigator.onLine === false ? "Offline" : (socket.active ? "Reconnecting" : "Offline"));
    });
    socket.io.on("reconnect_attempt", function () { if (navigator.onLine !== false) set("Reconnecting"); });
    socket.io.on("reconnect_failed", function () { set("Offline"); });
    global.addEventListener("offline", function () { set("Offline"); });
    global.addEventListener("online", function () { if (!socket.connected) set("Reconnecting"); });
  }

  global.ChatUI = {MessageLog: MessageLog, TypingIndicator: TypingIndicator,
                   TypingNotifier: TypingNotifier, watchConnection: watchConnection,
                   showConnection: showConnection};
})(window);
