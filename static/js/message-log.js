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
    // Where a message's files are fetched from: the dashboard's own URLs (login cookie) unless
    // the page gives another source (the widget's signed links).
    this.links = options.links || directLinks;
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
        fillMessage(element, messages[j], this.mine, this.interactive, this.links);
        this.list.insertBefore(element, pages[i]);
        this.lastSeq = Math.max(this.lastSeq, messages[j].seq);
      }
      pages[i].remove();
    }
  };

  MessageLog.prototype.accept = function (message) {
    if (!message || typeof message.seq !== "number") return;
    if (message.seq <= this.lastSeq) {
      this.dropPending(message.client_id);
      if (message.delivery) this.setDelivery(message.seq, message.delivery, message.id);   // a sync's newer state
      return;
    }
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
    fillMessage(element, message, this.mine, this.interactive, this.links);
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

  /* `files`: the attachments it names, as their uploads described them (drawn as cards until
     the stored message, with its thumbnails, takes the copy's place). */
  MessageLog.prototype.addPending = function (clientId, text, senderName, isPrivate, files) {
    var element = document.createElement("div");
    fillMessage(element, {client_id: clientId, sender_type: this.mine, sender_name: senderName,
                          text: text, created_at: null, private: Boolean(isPrivate),
                          attachments: files || null}, this.mine, false, this.links);
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

  /* A shown message's way to a phone moved on (`message_delivery`, delivery.js); a message not
     shown yet gets it with its own payload. */
  MessageLog.prototype.setDelivery = function (seq, delivery, messageId) {
    var element = this.list.querySelector('.message[data-seq="' + Number(seq) + '"]');
    if (element && global.ChatDelivery) global.ChatDelivery.update(element, delivery, messageId);
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

  function fillMessage(element, message, mine, interactive, links) {
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
    var files = message.attachments && message.attachments.length ? message.attachments : null;
    if (message.text || !files) {       // a message of files only has no empty line of text
      var text = document.createElement("div");
      text.className = "message-text";
      appendLinkedText(text, message.text || "");
      element.appendChild(text);
    }
    if (files) element.appendChild(attachmentList(files, links || directLinks, !message.seq));
    if (message.links && message.links.length) element.appendChild(linkList(message.links));
    if (message.buttons && message.buttons.length) element.appendChild(quickReplies(message.buttons, interactive));
    if (message.form === "offline") element.appendChild(interactive ? offlineForm() : formNote());
    var time = document.createElement("div");
    time.className = "message-time";
    time.textContent = message.created_at ? formatTime(message.created_at) : "Sending…";
    element.appendChild(time);
    delete element.dataset.deliveryState;
    // A message on its way to a WhatsApp or LINE phone: its ticks, where the page draws them (delivery.js).
    if (message.delivery && global.ChatDelivery) global.ChatDelivery.draw(element, message.delivery, message.id);
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

  /* ---- a message's files ----
     Each attachment {id, name, size, content_type, kind, width?, height?, thumbnail}: an image
     as a thumbnail that opens the full file in a new tab, anything else as a card (an icon by
     kind, the name, the type, the size) that opens or downloads it. The name is always text.
     `links` gives the URLs: get(attachment, done) and fresh(attachment, done) call done with
     {url, thumbnail_url} or null; open(attachment, event) may take over a click (true). */
  var THUMBNAIL_BOX = 220;     // px, the largest side of a thumbnail as drawn

  function attachmentList(files, links, pending) {
    var box = document.createElement("div");
    box.className = "message-attachments";
    for (var i = 0; i < files.length; i++) {
      var file = files[i];
      if (!file || !file.id) continue;
      // A copy still being sent shows its files as cards without links: they are not in a message yet.
      box.appendChild(pending ? fileCard(file, null) : isShownAsImage(file) ? imageAttachment(file, links) : fileCard(file, links));
    }
    return box;
  }

  var INLINE_IMAGES = {"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true};

  function isShownAsImage(file) {
    return file.kind === "image" && (file.thumbnail === true || INLINE_IMAGES[file.content_type] === true);
  }

  function imageAttachment(file, links) {
    var link = document.createElement("a");
    link.className = "attachment attachment-image";
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
    link.setAttribute("aria-label", "Open the image " + (file.name || "") + " (" + formatSize(file.size) + ") in a new tab");
    link.title = file.name || "";
    var image = document.createElement("img");
    image.alt = file.name || "Image";
    image.decoding = "async";
    var size = fitted(file.width, file.height);
    if (size) { image.width = size[0]; image.height = size[1]; }
    link.appendChild(image);
    var retried = false;
    function show(urls) {
      if (!urls) { link.replaceWith(fileCard(file, links)); return; }    // a click asks again
      link.setAttribute("href", urls.url);
      image.src = urls.thumbnail_url || urls.url;
    }
    // An expired or refused link: asked for once more, then the file is shown as a card.
    image.addEventListener("error", function () {
      if (!image.getAttribute("src")) return;
      if (retried) { link.replaceWith(fileCard(file, links)); return; }
      retried = true;
      links.fresh(file, show);
    });
    image.addEventListener("load", function () { link.classList.add("loaded"); });
    link.addEventListener("click", function (event) { if (links.open(file, event)) event.preventDefault(); });
    links.get(file, show);
    return link;
  }

  function fileCard(file, links) {
    var card = document.createElement("a");
    card.className = "attachment attachment-file";
    card.dataset.kind = file.kind || "document";
    // Only raster images open in a tab; anything else the server sends as a download.
    if (INLINE_IMAGES[file.content_type]) card.setAttribute("target", "_blank");
    else card.setAttribute("download", "");
    card.setAttribute("rel", "noopener noreferrer");
    var icon = document.createElement("span");
    icon.className = "attachment-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = fileBadge(file);
    var info = document.createElement("span");
    info.className = "attachment-info";
    var name = document.createElement("span");
    name.className = "attachment-name";
    name.textContent = file.name || "File";
    var meta = document.createElement("span");
    meta.className = "attachment-meta";
    meta.textContent = typeName(file) + " · " + formatSize(file.size);
    info.append(name, meta);
    card.append(icon, info);
    card.title = (file.name || "") + " (" + (file.content_type || "") + ")";
    if (!links) return card;               // null: shown, not opened (being sent, or no longer there)
    card.addEventListener("click", function (event) { if (links.open(file, event)) event.preventDefault(); });
    links.get(file, function (urls) { if (urls) card.setAttribute("href", urls.url); });
    return card;
  }

  /* The thumbnail's drawn size, its ratio kept, within THUMBNAIL_BOX (null: not known). */
  function fitted(width, height) {
    if (!(width > 0 && height > 0)) return null;
    var scale = Math.min(1, THUMBNAIL_BOX / Math.max(width, height));
    return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
  }

  var TYPE_NAMES = {
    "application/pdf": ["PDF", "PDF document"],
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ["DOCX", "Word document"],
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ["XLSX", "Excel spreadsheet"],
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ["PPTX", "PowerPoint presentation"],
    "application/vnd.oasis.opendocument.text": ["ODT", "OpenDocument text"],
    "application/vnd.oasis.opendocument.spreadsheet": ["ODS", "OpenDocument spreadsheet"],
    "application/vnd.oasis.opendocument.presentation": ["ODP", "OpenDocument presentation"],
    "audio/mpeg": ["MP3", "MP3 audio"],
    "audio/ogg": ["OGG", "Ogg audio"],
    "audio/wav": ["WAV", "WAV audio"],
    "audio/mp4": ["M4A", "M4A audio"],
    "video/mp4": ["MP4", "MP4 video"],
    "video/webm": ["WEBM", "WebM video"],
    "video/quicktime": ["MOV", "QuickTime video"]
  };
  var KIND_NAMES = {image: ["IMG", "Image"], video: ["VID", "Video"], audio: ["AUD", "Audio"], document: ["DOC", "Document"]};

  function typeInfo(file) {
    return TYPE_NAMES[file.content_type] || KIND_NAMES[file.kind] || KIND_NAMES.document;
  }
  function fileBadge(file) {
    var sub = /^(image|video|audio)\/([a-z0-9]+)/i.exec(file.content_type || "");
    return sub && !TYPE_NAMES[file.content_type] ? sub[2].slice(0, 4).toUpperCase() : typeInfo(file)[0];
  }
  function typeName(file) {
    var known = TYPE_NAMES[file.content_type];
    if (known) return known[1];
    var sub = /^(image|video|audio)\/([a-z0-9.+-]+)/i.exec(file.content_type || "");
    if (sub) return sub[2].toUpperCase().replace(/^X-/, "") + " " + sub[1];
    return file.content_type || typeInfo(file)[1];
  }

  /* 840 bytes -> "1 KB", 12 345 -> "12 KB", 1 572 864 -> "1.5 MB". */
  function formatSize(bytes) {
    var size = Number(bytes) || 0;
    if (size < 1024 * 1024) return Math.max(1, Math.round(size / 1024)) + " KB";
    var megabytes = size / (1024 * 1024);
    return (megabytes < 10 ? Math.round(megabytes * 10) / 10 : Math.round(megabytes)) + " MB";
  }

  /* The dashboard's and the transcript's files: the server's own URLs, under the login cookie. */
  var directLinks = {
    get: function (file, done) {
      var url = "/attachments/" + encodeURIComponent(file.id);
      done({url: url, thumbnail_url: file.thumbnail ? url + "/thumbnail" : null});
    },
    fresh: function (file, done) { directLinks.get(file, done); },
    open: function () { return false; }
  };

  /* The widget's files: short-lived signed links from `fetchLinks(ids)` (a Promise of
     {links: {id: {url, thumbnail_url}}}), asked for in one batch per drawing (at most 50 ids a
     request), kept a little under their 15 minutes, asked for again when one fails to load and
     before a file opens full size. */
  var LINK_LIFETIME_MS = 12 * 60 * 1000;
  var LINKS_PER_REQUEST = 50;

  function SignedLinks(fetchLinks) {
    this.fetchLinks = fetchLinks;
    this.known = {};          // id -> {urls, until}
    this.waiting = {};        // id -> [done, ...] for the next batch
    this.timer = null;
  }
  SignedLinks.prototype.get = function (file, done) {
    var known = this.known[file.id];
    if (known && known.until > Date.now()) { done(known.urls); return; }
    this.ask(file.id, done);
  };
  SignedLinks.prototype.fresh = function (file, done) {
    delete this.known[file.id];
    this.ask(file.id, done);
  };
  SignedLinks.prototype.ask = function (id, done) {
    var self = this;
    (this.waiting[id] = this.waiting[id] || []).push(done);
    if (!this.timer) this.timer = setTimeout(function () { self.flush(); }, 0);
  };
  SignedLinks.prototype.flush = function () {
    var self = this;
    var waiting = this.waiting;
    this.waiting = {};
    this.timer = null;
    var ids = Object.keys(waiting);
    for (var start = 0; start < ids.length; start += LINKS_PER_REQUEST) {
      (function (batch) {
        var asked = Date.now();
        Promise.resolve().then(function () { return self.fetchLinks(batch); })
          .then(function (answer) {
            var links = (answer && answer.links) || {};
            batch.forEach(function (id) {
              var urls = links[id] && sameOrigin(links[id].url) ? {url: links[id].url,
                thumbnail_url: sameOrigin(links[id].thumbnail_url) ? links[id].thumbnail_url : null} : null;
              if (urls) self.known[id] = {urls: urls, until: asked + LINK_LIFETIME_MS};
              waiting[id].forEach(function (done) { done(urls); });
            });
          })
          .catch(function () {
            batch.forEach(function (id) { waiting[id].forEach(function (done) { done(null); }); });
          });
      })(ids.slice(start, start + LINKS_PER_REQUEST));
    }
  };
  /* A click opens the file with a link asked for just now: an image in a new tab, which opens at
     once (a browser lets a click open one) and goes to the file when the link arrives; any
     other file is downloaded from the new link. */
  SignedLinks.prototype.open = function (file, event) {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return false;
    if (!INLINE_IMAGES[file.content_type]) {
      this.fresh(file, function (urls) {
        if (!urls) return;
        var link = document.createElement("a");
        link.setAttribute("href", urls.url);
        link.setAttribute("download", "");
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
      return true;
    }
    var tab = global.open("", "_blank");
    if (!tab) return false;               // no new tab: the link as it is
    try { tab.opener = null; } catch (e) { /* already cut off */ }
    this.fresh(file, function (urls) {
      if (urls) tab.location.href = urls.url;
      else tab.close();
    });
    return true;
  };

  /* A URL of this server ("/attachments/..."), never another site nor another scheme. */
  function sameOrigin(url) {
    if (typeof url !== "string" || !url) return false;
    try { return new URL(url, global.location.href).origin === global.location.origin; } catch (e) { return false; }
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
                   showConnection: showConnection, SignedLinks: SignedLinks, formatSize: formatSize};
})(window);
