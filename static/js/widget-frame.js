/* The conversation inside the widget frame (the visitor's side). */
(function () {
  "use strict";
  var STORAGE_KEY = "cc_chat_session";
  var MAX_OUTBOX = 100;
  // Socket.IO refusals worth trying again later (too many tabs, too many failed attempts).
  var RETRY_LATER = {rate_limited: true, too_many_sockets: true};
  var RETRY_LATER_MS = 30000;
  var SOCKET_FAILURES_BEFORE_REST = 3;
  var REST_POLL_MS = 3000;
  var root = document.getElementById("widget");
  var siteKey = root.dataset.siteKey;
  var sessionExpiry = Number(root.dataset.expiry) || 30 * 60 * 1000;
  // The embedder may choose the interval; the server allows a few heartbeats a minute.
  var heartbeatInterval = Math.min(Math.max(Number(root.dataset.heartbeat) || 30000, 10000), 120000);
  var autoRestore = root.dataset.restore !== "0";
  var api = "/api/v1/chat/public";

  var startView = document.getElementById("startView");
  var chatView = document.getElementById("chatView");
  var messagesBox = document.getElementById("messages");
  var input = document.getElementById("messageInput");
  var composer = document.getElementById("composer");
  var endButton = document.getElementById("endChatButton");
  var newChatButton = document.getElementById("newChatButton");
  var statusElement = document.getElementById("connectionStatus");
  var agentsOnline = document.getElementById("agentsOnline");
  var availability = document.getElementById("availability");
  var sendButton = document.getElementById("sendButton");
  var uploadStatus = document.getElementById("uploadStatus");
  if (root.dataset.color) document.documentElement.style.setProperty("--primary", root.dataset.color);

  var chat = null;        // {session_id, session_key, messages: [], outbox: [], visitor_name}
  var socket = null;
  var log = null;
  var outbox = null;      // a ChatOutbox over chat.outbox
  var socketFailures = 0;
  var restTimer = null;   // set while reading and sending over REST
  var typing = new ChatUI.TypingIndicator(document.getElementById("typingIndicator"));
  var notifier = new ChatUI.TypingNotifier(function (isTyping) {
    if (socket && socket.connected) socket.emit("typing", {is_typing: isTyping});
  });
  var heartbeatTimer = null;
  var restoredAtLoad = false;   // this page load brought a chat back: said at its first connect only
  var lastPosition = null;  // the latest queue_position, while the chat waits
  var tray = null;          // the files attached to the next message (uploads.js)

  /* ---- storage (shared by every tab of this site) ---- */

  function save() {
    if (!chat) return;
    chat.timestamp = Date.now();
    try { localStorage.setItem(STORAGE_KEY, JSON.stringify(chat)); } catch (e) { /* private mode */ }
  }

  function load() {
    try {
      var stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
      if (stored && stored.session_id && stored.session_key && Date.now() - stored.timestamp < sessionExpiry) return stored;
    } catch (e) { /* unreadable: start again */ }
    clearStorage();
    return null;
  }

  function clearStorage() {
    try { localStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
  }

  /* ---- views ---- */

  /* The top of every conversation: the site's greeting, as the first message, and while the
     chat waits in line, that someone will come. Not stored: it is the site speaking. A chat
     that starts with the bot has the bot's greeting instead. */
  function welcome() {
    var box = document.createElement("div");
    box.className = "welcome";
    if (chat && chat.with_bot) box.classList.add("with-bot");
    var bubble = document.createElement("div");
    bubble.className = "welcome-greeting";
    var sender = document.createElement("div");
    sender.className = "message-sender";
    sender.textContent = document.querySelector(".widget-title").textContent;
    var text = document.createElement("div");
    text.className = "message-text";
    text.textContent = document.querySelector("#startView .greeting").textContent;
    bubble.append(sender, text);
    var waiting = document.createElement("p");
    waiting.id = "waitingNote";
    waiting.className = "welcome-waiting";
    waiting.textContent = "Someone from the team will be with you shortly.";
    waiting.hidden = !(chat && chat.in_line !== false);
    var line = document.createElement("p");
    line.id = "queuePosition";
    line.className = "welcome-queue";
    line.setAttribute("aria-live", "polite");
    line.hidden = true;
    box.append(bubble, waiting, line);
    return box;
  }
  /* Where the chat stands: in line (someone will come), with the bot (its buttons and form
     can be used), or with an agent. */
  function showStatus(status) {
    if (chat) { chat.in_line = status.in_line; chat.status = status.status; }
    var note = document.getElementById("waitingNote");
    if (note) note.hidden = !status.in_line;
    if (!status.in_line) showPosition(null);
    if (status.status !== "bot" && log) log.dropDrafts();
    refreshBotControls();
  }

  /* Only the latest message's quick replies and form can be used, and only while the bot has
     the chat; older ones are hidden. */
  function refreshBotControls() {
    var messages = messagesBox.querySelectorAll(".message:not(.pending)");
    var latest = messages.length ? messages[messages.length - 1] : null;
    var withBot = chat && chat.status === "bot";
    var controls = messagesBox.querySelectorAll(".quick-replies, .offline-form");
    for (var i = 0; i < controls.length; i++) {
      controls[i].hidden = !withBot || controls[i].parentElement !== latest;
    }
  }

  function pressQuickReply(button) {
    if (!chat || chat.status !== "bot") return;
    var item = outbox.add(button.textContent, false, button.dataset.buttonId);
    if (!item) { note("Too many unsent messages; wait for the connection."); return; }
    button.parentElement.hidden = true;
    deliver(item);
  }

  /* The offline form: `offline_message {email, text, client_id}`; the answer is the stored message. */
  function sendOfflineForm(form) {
    var error = form.querySelector(".form-error");
    var button = form.querySelector("button");
    var body = {email: form.elements.email.value.trim(), text: form.elements.text.value.trim(),
                client_id: form.dataset.clientId || (form.dataset.clientId = "offline-" + Date.now().toString(36))};
    error.hidden = true;
    if (!socket || !socket.connected) {
      error.textContent = "Not connected; try again in a moment.";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    socket.timeout(10000).emit("offline_message", body, function (timedOut, reply) {
      button.disabled = false;
      if (!timedOut && reply && reply.ok) { log.accept(reply.message); return; }
      error.textContent = timedOut ? "No answer from the server; try again." : (reply && reply.error ? reply.error.message : "Not sent");
      error.hidden = false;
    });
  }

  /* The visitor's place in line and the wait estimate, as the server sends them
     (`queue_position {position, estimated_wait_seconds}`); nothing once an agent has the chat. */
  function positionText(place) {
    var text = place.position === 1 ? "You are next in line" : "You are number " + place.position + " in line";
    if (typeof place.estimated_wait_seconds === "number") {
      var minutes = Math.max(1, Math.round(place.estimated_wait_seconds / 60));
      text += ", about " + minutes + (minutes === 1 ? " minute" : " minutes");
    }
    return text;
  }
  function showPosition(place) {
    lastPosition = place && typeof place.position === "number" ? place : null;
    var line = document.getElementById("queuePosition");
    if (!line) return;
    line.textContent = lastPosition ? positionText(lastPosition) : "";
    line.hidden = !lastPosition || (chat && chat.in_line === false);
  }

  /* Before a chat: whether the team is there (from the server); during one: the connection. */
  function showStart() {
    chatView.hidden = true;
    startView.hidden = false;
    endButton.hidden = true;
    availability.hidden = false;
    statusElement.hidden = true;
  }

  function showChat() {
    availability.hidden = true;
    statusElement.hidden = false;
    startView.hidden = true;
    chatView.hidden = false;
    composer.hidden = false;
    newChatButton.hidden = true;
    endButton.hidden = false;
    messagesBox.textContent = "";
    messagesBox.appendChild(welcome());
    showPosition(lastPosition);
    if (tray) { tray.options.onChange = null; tray.clear(); }
    var owner = chat;
    var keptUploads = chat.uploads;
    tray = new ChatUploads.Tray({
      list: document.getElementById("uploadTray"), status: uploadStatus, focusAfter: input,
      url: api + "/attachments",
      fields: function () { return {session_id: owner.session_id}; },
      headers: function () { return {"X-Session-Key": owner.session_key}; },
      onChange: function (changed) {
        if (chat !== owner) return;
        chat.uploads = changed.ready();        // a reload keeps the finished ones, with the chat
        save();
        refreshSend();
      }
    });
    tray.restore(keptUploads);
    log = new ChatUI.MessageLog(messagesBox, {
      mine: "visitor",
      interactive: true,
      links: new ChatUI.SignedLinks(fetchLinks),
      requestSync: function (after) {
        if (socket && socket.connected) {
          socket.emit("sync", {after_seq: after}, function (reply) { if (reply && reply.ok) log.acceptPage(reply); });
        } else if (restTimer) {
          pollOverRest();
        }
      },
      onShown: function (message) {
        if (!chat.messages.some(function (m) { return m.seq === message.seq; })) {
          chat.messages.push(message);
          // The page's launcher counts replies that arrive while the chat is closed.
          if (message.sender_type === "agent") window.parent.postMessage({type: "cc:reply"}, "*");
        }
        outbox.forget(message.client_id);
        save();
        refreshBotControls();
        messagesBox.scrollTop = messagesBox.scrollHeight;
      }
    });
    chat.outbox = chat.outbox || [];
    outbox = new ChatOutbox(log, {
      items: chat.outbox,                             // kept in place, so saved with the chat
      senderName: chat.visitor_name,
      limit: MAX_OUTBOX,
      rest: {url: api + "/messages", fields: {session_id: chat.session_id, session_key: chat.session_key}},
      onChange: save,
      send: deliver
    });
  }

  /* Signed links to this chat's files, for the message log (the key goes in a header). */
  function fetchLinks(ids) {
    return fetch(api + "/attachments/links", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-Session-Key": chat.session_key},
      body: JSON.stringify({session_id: chat.session_id, attachment_ids: ids})
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  /* Send waits for the uploads still running. */
  function refreshSend() {
    var busy = tray && tray.busy();
    sendButton.disabled = Boolean(busy);
    sendButton.title = busy ? "Wait for the files to finish uploading" : "";
  }

  function attach(files) {
    if (!chat || !tray || composer.hidden) return;
    tray.add(files);
  }

  function note(text) {
    var element = document.createElement("div");
    element.className = "message message-note";
    element.textContent = text;
    messagesBox.appendChild(element);
    messagesBox.scrollTop = messagesBox.scrollHeight;
  }

  function showEnded() {
    composer.hidden = true;
    endButton.hidden = true;
    newChatButton.hidden = false;
    if (tray) tray.clear();
    stopHeartbeat();
    clearStorage();
  }

  /* ---- starting and restoring ---- */

  function startChat(event) {
    event.preventDefault();
    var error = document.getElementById("startError");
    var button = document.getElementById("startButton");
    error.hidden = true;
    button.disabled = true;
    var body = {site_key: siteKey, name: document.getElementById("visitorName").value.trim(),
                email: document.getElementById("visitorEmail").value.trim()};
    if (/^https?:/.test(document.referrer)) body.page_url = document.referrer.slice(0, 2000);
    try {      // the visitor's local time, for the team's side panel
      body.time_zone = Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
    } catch (e) { /* no Intl: no time zone */ }
    fetch(api + "/start", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
      .then(function (response) { return response.json().then(function (data) { return {ok: response.ok, data: data}; }); })
      .then(function (result) {
        button.disabled = false;
        if (!result.ok) throw new Error(result.data.error ? result.data.error.message : "Could not start the chat.");
        restoredAtLoad = false;
        chat = {session_id: result.data.session_id, session_key: result.data.session_key,
                visitor_name: result.data.visitor_name || "You", messages: [], outbox: [],
                status: result.data.status, in_line: result.data.in_line, with_bot: result.data.status === "bot"};
        save();
        showChat();
        connect();
        input.focus();
      })
      .catch(function (failure) {
        button.disabled = false;
        error.textContent = failure.message || "Could not reach the chat server.";
        error.hidden = false;
      });
  }

  function restore(stored, atLoad) {
    fetch(api + "/status/" + encodeURIComponent(stored.session_id), {headers: {"X-Session-Key": stored.session_key}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status || !status.is_open) {
          clearStorage();
          showStart();
          return;
        }
        chat = stored;
        chat.status = status.status;
        chat.in_line = status.in_line;
        restoredAtLoad = !!atLoad;
        showChat();
        chat.messages.slice().sort(function (a, b) { return a.seq - b.seq; }).forEach(function (m) { log.accept(m); });
        note("Your chat has been restored");
        outbox.showPending(log);
        connect();
      })
      .catch(function () { chat = stored; restoredAtLoad = !!atLoad; showChat(); connect(); });
  }

  /* ---- the socket ---- */

  function connect() {
    if (socket) socket.disconnect();
    socket = io("/visitor", {
      auth: function (callback) {
        callback({session_id: chat.session_id, session_key: chat.session_key, last_seq: log.lastSeq,
                  restored: restoredAtLoad});
      },
      reconnectionDelay: 500,
      reconnectionDelayMax: 10000,
      randomizationFactor: 0.5
    });
    ChatUI.watchConnection(socket, statusElement);
    socket.on("connect", function () {
      socketFailures = 0;
      restoredAtLoad = false;
      stopRestPolling();
      outbox.emitAll(socket);
      startHeartbeat();
    });
    socket.on("disconnect", stopHeartbeat);
    socket.on("connect_error", function (error) {
      if (error && error.data && error.data.code === "session_not_found") {
        socket.disconnect();
        stopRestPolling();
        clearStorage();
        showStart();
        return;
      }
      if (error && error.data && RETRY_LATER[error.data.code]) {
        var refused = socket;
        setTimeout(function () { if (socket === refused && !socket.connected) socket.connect(); }, RETRY_LATER_MS);
        return;
      }
      socketFailures += 1;
      if (socketFailures >= SOCKET_FAILURES_BEFORE_REST) startRestPolling();
    });
    socket.on("message", function (message) { log.accept(message); });
    socket.on("bot_draft", function (draft) {
      if (chat && chat.status === "bot") {
        log.showDraft(draft.client_id, draft.text, "Assistant");
        messagesBox.scrollTop = messagesBox.scrollHeight;
      }
    });
    socket.on("typing", function (event) { typing.update(event.sender_name, event.is_typing); });
    socket.on("presence", function (event) {
      if (typeof event.agents_online === "number") {
        agentsOnline.textContent = event.agents_online > 0 ? "· an agent is online" : "· we'll reply soon";
      }
    });
    socket.on("queue_position", showPosition);
    socket.on("session_status", function (status) {
      // The replay on connect is one page: fetch whatever lies beyond it.
      if (log) log.catchUp(status.last_seq);
      showStatus(status);
      if (!status.is_open) showEnded();
    });
  }

  /* ---- REST polling, for networks where neither WebSocket nor long-polling gets
     through: read with GET, send with POST, same client_ids; the socket keeps trying
     in the background and takes over again as soon as it connects. ---- */

  function startRestPolling() {
    if (restTimer || !chat) return;
    restTimer = setInterval(pollOverRest, REST_POLL_MS);
    pollOverRest();
  }

  function stopRestPolling() {
    clearInterval(restTimer);
    restTimer = null;
  }

  function pollOverRest() {
    if (!chat) { stopRestPolling(); return; }
    fetch(api + "/messages/" + encodeURIComponent(chat.session_id) + "?after=" + log.lastSeq,
          {headers: {"X-Session-Key": chat.session_key}})
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (data) {
        if (!restTimer) return;
        ChatUI.showConnection(statusElement, "Live");
        log.acceptPage(data);                           // polls again at once while has_more
        showStatus(data);
        if (data.in_line) showPosition(data.queue_position);
        if (!data.has_more) outbox.postAll();
        if (!data.is_open) { stopRestPolling(); showEnded(); }
      })
      .catch(function () { ChatUI.showConnection(statusElement, navigator.onLine === false ? "Offline" : "Reconnecting"); });
  }

  function startHeartbeat() {
    stopHeartbeat();
    heartbeatTimer = setInterval(function () {
      if (!socket || !socket.connected) return;
      socket.emit("heartbeat", {}, function (reply) { if (reply && reply.ok && log) log.catchUp(reply.last_seq); });
      save();
    }, heartbeatInterval);
  }

  function stopHeartbeat() { clearInterval(heartbeatTimer); }

  function send(event) {
    if (event) event.preventDefault();
    var text = input.value.trim();
    if (!chat) return;
    if (tray.busy()) { uploadStatus.textContent = "Wait for the files to finish uploading."; return; }
    if (!text && !tray.hasReady()) return;
    if (outbox.items.length >= MAX_OUTBOX) { note("Too many unsent messages; wait for the connection."); return; }
    var item = outbox.add(text, false, null, tray.take());
    input.value = "";
    notifier.stop();
    deliver(item);
  }

  /* One item out, the way the frame is connected now (nothing when offline: it waits). */
  function deliver(item) {
    if (socket && socket.connected) outbox.emit(socket, item);
    else if (restTimer) outbox.post(item);
  }

  function endChat() {
    if (!chat || !window.confirm("End this chat?")) return;
    fetch(api + "/end", {method: "POST", headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({session_id: chat.session_id, session_key: chat.session_key})})
      .then(function (response) {
        if (!response.ok) throw new Error("end failed");
        showEnded();          // the server's "The visitor ended the chat." is the one notice
        setTimeout(function () {
          if (socket) socket.disconnect();
          window.parent.postMessage({type: "cc:close"}, "*");
        }, 2000);
      })
      .catch(function () { note("Could not end the chat; check your connection and try again."); });
  }

  document.getElementById("startForm").addEventListener("submit", startChat);
  composer.addEventListener("submit", send);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
  });
  input.addEventListener("input", function () { notifier.keystroke(); });
  ChatUploads.picker(composer.querySelector(".attach-button"), composer.querySelector(".attach-input"), attach);
  ChatUploads.dropZone(chatView, attach, function () { return Boolean(chat) && !composer.hidden; });
  ChatUploads.pasteFiles(input, attach);
  messagesBox.addEventListener("click", function (event) {
    var button = event.target.closest(".quick-reply");
    if (button && !button.disabled) pressQuickReply(button);
  });
  messagesBox.addEventListener("submit", function (event) {
    if (!event.target.classList.contains("offline-form")) return;
    event.preventDefault();
    sendOfflineForm(event.target);
  });
  endButton.addEventListener("click", endChat);
  newChatButton.addEventListener("click", function () {
    if (socket) socket.disconnect();
    chat = null;
    lastPosition = null;
    showStart();
  });
  document.getElementById("closeButton").addEventListener("click", function () {
    window.parent.postMessage({type: "cc:close"}, "*");
  });
  /* A second tab of the same site follows the stored conversation. */
  window.addEventListener("storage", function (event) {
    if (event.key !== STORAGE_KEY) return;
    if (!event.newValue && chat) { showEnded(); return; }
    if (event.newValue && !chat) { var stored = load(); if (stored) restore(stored); }
  });

  var stored = autoRestore ? load() : null;
  if (stored) restore(stored, true); else showStart();
})();
