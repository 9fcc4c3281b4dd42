/* The conversation inside the widget frame (the visitor's side). */
(function () {
  "use strict";
  var STORAGE_KEY = "cc_chat_session";     // the conversation on screen, restored after a reload
  var PARKED = "cc_chat:";                 // + site + ":" + id: a conversation switched away from, as left
  var LIST_POLL_MS = 15000;                // the other conversations' unread replies, while open
  var SEND_BEFORE_LEAVING_MS = 3000;       // how long a switch waits for what was just sent
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
  var TOKEN_KEY = "cc_visitor_token:" + siteKey;
  var PARKED_PREFIX = PARKED + siteKey + ":";

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
  var listTimer = null;
  var readTimer = null;
  var tabs = new ConversationTabs(document.getElementById("conversationTabs"), {
    onSelect: function (id) { afterSending(function () { switchTo(id); }); },
    onClose: closeConversation, onRename: renameConversation,
    onNew: function () { afterSending(newConversation); }
  });

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

  /* The visitor token: who this browser is, for every conversation, kept for months. */
  function visitorToken() {
    try { return localStorage.getItem(TOKEN_KEY) || null; } catch (e) { return null; }
  }

  function keepVisitorToken(token) {
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: a visitor for this page only */ }
  }

  /* A conversation's credential: its key when this browser started it, else the visitor's token. */
  function credentials(which) {
    if (which && which.session_key) return {"X-Session-Key": which.session_key};
    var token = visitorToken();
    return token ? {"X-Visitor-Token": token} : {};
  }

  function park(which) {
    if (!which) return;
    try { localStorage.setItem(PARKED_PREFIX + which.session_id, JSON.stringify(which)); } catch (e) { /* full */ }
  }

  function unpark(id) {
    try {
      var parked = JSON.parse(localStorage.getItem(PARKED_PREFIX + id) || "null");
      localStorage.removeItem(PARKED_PREFIX + id);
      return parked && parked.session_id === id ? parked : null;
    } catch (e) { return null; }
  }

  /* Parked conversations closed meanwhile (here or on another device) are dropped. */
  function dropParkedExcept(listed) {
    var kept = {};
    listed.forEach(function (item) { kept[PARKED_PREFIX + item.id] = true; });
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var name = localStorage.key(i);
        if (name && name.indexOf(PARKED_PREFIX) === 0 && !kept[name]) localStorage.removeItem(name);
      }
    } catch (e) { /* nothing stored */ }
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
      headers: function () { return credentials(owner); },
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
          if (message.sender_type === "agent" || message.sender_type === "bot") {
            window.parent.postMessage({type: "cc:message", conversation_id: message.session_id,
                                       sender_type: message.sender_type}, "*");
          }
          if (message.sender_type === "visitor" && untitled(chat.session_id)) refreshSoon();   // its title
        }
        markReadSoon();
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
      rest: {url: api + "/messages", fields: {session_id: chat.session_id, session_key: chat.session_key},
             headers: credentials(chat)},
      onChange: save,
      send: deliver
    });
  }

  /* Signed links to this chat's files, for the message log (the key goes in a header). */
  function fetchLinks(ids) {
    return fetch(api + "/attachments/links", {
      method: "POST",
      headers: withJson(credentials(chat)),
      body: JSON.stringify({session_id: chat.session_id, attachment_ids: ids})
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  function withJson(headers) {
    var all = {"Content-Type": "application/json"};
    for (var name in headers) all[name] = headers[name];
    return all;
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
    refreshSoon();          // its tab says it ended; the visitor closes it with ×
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
    startConversation(body)
      .then(function () { button.disabled = false; })
      .catch(function (failure) {
        button.disabled = false;
        error.textContent = failure.message || "Could not reach the chat server.";
        error.hidden = false;
      });
  }

  /* Requests that may give this browser its visitor token (a new conversation, setUser) run one
     after another: a chat started while setUser is on its way belongs to the signed-in customer,
     not to a stranger whose token would then replace the customer's. */
  var tokenWork = Promise.resolve();
  function inTurn(work) {
    var done = tokenWork.then(work, work);
    tokenWork = done.catch(function () { /* the next one runs anyway */ });
    return done;
  }

  /* A new conversation (`POST /conversations`): the first gives this browser its visitor token;
     one the server no longer knows is dropped, and the conversation starts as a new visitor's. */
  function startConversation(body) {
    return inTurn(function () { return postConversation(body); });
  }

  function postConversation(body, retried) {
    body.site_key = siteKey;
    return fetch(api + "/conversations", {method: "POST", headers: withJson(credentials(null)), body: JSON.stringify(body)})
      .then(function (response) { return response.json().then(function (data) { return {ok: response.ok, data: data}; }); })
      .then(function (result) {
        if (!result.ok && result.data.error && result.data.error.code === "visitor_not_found" && !retried) {
          keepVisitorToken(null);
          return postConversation(body, true);
        }
        if (!result.ok) throw new Error(result.data.error ? result.data.error.message : "Could not start the chat.");
        if (result.data.visitor_token) keepVisitorToken(result.data.visitor_token);
        leaveConversation();
        restoredAtLoad = false;
        chat = {session_id: result.data.session_id, session_key: result.data.session_key,
                visitor_name: result.data.visitor_name || "You", messages: [], outbox: [],
                status: result.data.status, in_line: result.data.in_line, with_bot: result.data.status === "bot"};
        save();
        showChat();
        tabs.update(result.data.conversation);
        tabs.setActive(chat.session_id);
        connect();
        input.focus();
        refreshSoon();          // the others' titles and replies, as the server has them now
      });
  }

  /* "+" (and "Start a new chat"): a known visitor starts at once; a new one fills the form. */
  function newConversation() {
    if (!visitorToken()) { leaveConversation(); chat = null; showStart(); return; }
    startConversation({}).catch(function (failure) { note(failure.message || "Could not reach the chat server."); });
  }

  /* Messages just sent in the conversation on screen reach the server before it is left (its
     socket closes then); those still unsent after a while (offline) stay with it, parked. */
  function afterSending(then) {
    var waited = 0;
    (function check() {
      var sending = outbox && outbox.items.length && socket && socket.connected;
      if (!sending || waited >= SEND_BEFORE_LEAVING_MS) { then(); return; }
      waited += 100;
      setTimeout(check, 100);
    })();
  }

  /* The conversation on screen is put aside as it is (its unsent messages too) for another. */
  function leaveConversation() {
    if (socket) { socket.disconnect(); socket = null; }
    stopRestPolling();
    stopHeartbeat();
    if (chat) park(chat);
    lastPosition = null;
  }

  function switchTo(id) {
    if (chat && chat.session_id === id) return;
    leaveConversation();
    var parked = unpark(id);
    var listed = tabs.find(id);
    chat = parked || {session_id: id, visitor_name: "You", messages: [], outbox: [],
                      status: listed && listed.status, in_line: false};
    restoredAtLoad = false;
    tabs.setActive(id);
    save();
    showChat();
    chat.messages.slice().sort(function (a, b) { return a.seq - b.seq; }).forEach(function (m) { log.accept(m); });
    outbox.showPending(log);
    connect();
    refreshSoon();
  }

  function closeConversation(conversation) {
    if (!conversation) return;
    if (conversation.is_open && !window.confirm("Close this conversation? It ends the chat.")) return;
    fetch(api + "/conversations/" + encodeURIComponent(conversation.id), {method: "DELETE", headers: credentials(null)})
      .then(function (response) {
        if (!response.ok && response.status !== 404) throw new Error(response.status);
        try { localStorage.removeItem(PARKED_PREFIX + conversation.id); } catch (e) { /* not parked */ }
        var wasActive = chat && chat.session_id === conversation.id;
        tabs.remove(conversation.id);
        if (!wasActive) return;
        if (socket) { socket.disconnect(); socket = null; }
        stopRestPolling();
        stopHeartbeat();
        chat = null;
        clearStorage();
        if (tabs.list.length) switchTo(tabs.list[0].id); else showStart();
      })
      .catch(function () { note("Could not close the conversation; check your connection and try again."); });
  }

  function renameConversation(id, title) {
    fetch(api + "/conversations/" + encodeURIComponent(id), {method: "PATCH", headers: withJson(credentials(null)),
                                                             body: JSON.stringify({title: title})})
      .then(function (response) { return response.json().then(function (data) { return {ok: response.ok, data: data}; }); })
      .then(function (result) {
        if (!result.ok) throw new Error(result.data.error ? result.data.error.message : "Could not rename it.");
        tabs.update(result.data.conversation);
      })
      .catch(function (failure) { note(failure.message || "Could not rename the conversation."); });
  }

  /* The visitor's conversations, for the tabs; a token the server no longer knows is dropped. */
  /* Answers that come late (to an earlier read, or for a visitor this browser has dropped or
     replaced since) are dropped. */
  var listAsked = 0;
  function refreshConversations() {
    var token = visitorToken();
    if (!token) return Promise.resolve([]);
    var asked = ++listAsked;
    function stale() { return asked !== listAsked || visitorToken() !== token; }
    return fetch(api + "/conversations?site_key=" + encodeURIComponent(siteKey), {headers: {"X-Visitor-Token": token}})
      .then(function (response) {
        if (stale()) return {conversations: null};
        if (response.status === 404) { keepVisitorToken(null); return {conversations: []}; }
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        if (data.conversations === null || stale()) return tabs.list;
        tabs.show(data.conversations, chat ? chat.session_id : null);
        dropParkedExcept(data.conversations);
        return data.conversations;
      });
  }

  /* A tab still called "New conversation" takes its title from the visitor's first message. */
  function untitled(id) {
    var conversation = tabs.find(id);
    return Boolean(conversation && conversation.untitled);
  }

  var refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { refreshConversations().catch(function () { /* next time */ }); }, 200);
  }

  /* The other conversations' replies are counted by the server; looked at while the frame is seen. */
  function startListPolling() {
    clearInterval(listTimer);
    listTimer = setInterval(function () {
      if (document.visibilityState === "hidden" || tabs.list.length < 2) return;
      refreshConversations().catch(function () { /* next time */ });
    }, LIST_POLL_MS);
  }

  /* What is on screen has been read: its tab shows no unread replies on this or another device. */
  function markReadSoon() {
    if (!chat || !visitorToken()) return;
    var owner = chat;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (chat !== owner || !log || document.visibilityState === "hidden") return;
      fetch(api + "/conversations/" + encodeURIComponent(owner.session_id) + "/read",
            {method: "POST", headers: withJson(credentials(null)), body: JSON.stringify({seq: log.lastSeq})})
        .catch(function () { /* read again at the next message */ });
    }, 1000);
  }

  function restore(stored, atLoad) {
    fetch(api + "/status/" + encodeURIComponent(stored.session_id), {headers: credentials(stored)})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status || !status.is_open) {
          clearStorage();
          var open = tabs.list.filter(function (item) { return item.is_open; });
          if (open.length) switchTo(open[0].id); else showStart();
          return;
        }
        chat = stored;
        tabs.setActive(chat.session_id);
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
        var auth = {session_id: chat.session_id, last_seq: log.lastSeq, restored: restoredAtLoad};
        if (chat.session_key) auth.session_key = chat.session_key; else auth.visitor_token = visitorToken();
        callback(auth);
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
    socket.on("message", function (message) {
      if (elsewhere(message)) { activityElsewhere(message); return; }
      log.accept(message);
    });
    socket.on("bot_draft", function (draft) {
      if (elsewhere(draft)) return;
      if (chat && chat.status === "bot") {
        log.showDraft(draft.client_id, draft.text, "Assistant");
        messagesBox.scrollTop = messagesBox.scrollHeight;
      }
    });
    socket.on("typing", function (event) { if (!elsewhere(event)) typing.update(event.sender_name, event.is_typing); });
    socket.on("presence", function (event) {
      if (typeof event.agents_online === "number") {
        agentsOnline.textContent = event.agents_online > 0 ? "· an agent is online" : "· we'll reply soon";
      }
    });
    socket.on("queue_position", function (place) { if (!elsewhere(place)) showPosition(place); });
    socket.on("conversation_started", function (started) {      // on another device or tab
      if (!started || tabs.find(started.session_id) || (chat && started.session_id === chat.session_id)) return;
      refreshSoon();
      socket.emit("follow_conversations", {}, function () { /* its replies now count on its tab */ });
    });
    socket.on("session_status", function (status) {
      if (elsewhere(status)) { refreshSoon(); return; }
      // The replay on connect is one page: fetch whatever lies beyond it.
      if (log) log.catchUp(status.last_seq);
      showStatus(status);
      if (!status.is_open) showEnded();
    });
  }

  /* The socket also hears of the visitor's other open conversations (their tabs). */
  function elsewhere(event) {
    return Boolean(event && event.session_id && chat && event.session_id !== chat.session_id);
  }

  function activityElsewhere(message) {
    if (message.sender_type === "visitor" && untitled(message.session_id)) refreshSoon();   // its title
    if (message.sender_type !== "agent" && message.sender_type !== "bot") return;
    var conversation = tabs.find(message.session_id);
    if (conversation && message.seq > conversation.last_seq) {
      conversation.unread += 1;
      conversation.last_seq = message.seq;
      tabs.update(conversation);
    } else if (!conversation) {
      refreshSoon();
    }
    if (message.sender_type === "agent") window.parent.postMessage({type: "cc:reply"}, "*");
    window.parent.postMessage({type: "cc:message", conversation_id: message.session_id,
                               sender_type: message.sender_type}, "*");
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
          {headers: credentials(chat)})
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
    fetch(api + "/end", {method: "POST", headers: withJson(credentials(chat)),
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
  // The page arrives with Start disabled: a click before this script ran would submit the form
  // natively, reloading the frame and losing what the visitor typed.
  document.getElementById("startButton").disabled = false;
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
  newChatButton.addEventListener("click", function () { afterSending(newConversation); });
  document.getElementById("closeButton").addEventListener("click", function () {
    window.parent.postMessage({type: "cc:close"}, "*");
  });
  /* A second tab of the same site follows the stored conversation. */
  window.addEventListener("storage", function (event) {
    if (event.key !== STORAGE_KEY) return;
    if (!event.newValue && chat) { showEnded(); return; }
    if (event.newValue && !chat) { var stored = load(); if (stored) restore(stored); }
  });

  /* The page the widget sits on (ChatWidget.setUser, ChatWidget.reset). */
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data) return;
    if (event.data.type === "cc:setUser") identify(event.data.user);
    if (event.data.type === "cc:reset") forgetVisitor();
  });

  /* A logged-in customer of the site, vouched for by the site's hash: the same conversations on
     every device. A wrong hash changes nothing (and says so in the console, for the site's developer). */
  function identify(user) {
    if (!user || typeof user !== "object") return;
    var body = {site_key: siteKey, user_id: String(user.id || ""), user_hash: String(user.hash || "")};
    if (user.name) body.name = String(user.name);
    if (user.email) body.email = String(user.email);
    inTurn(function () { return sendIdentity(body); });
  }

  function sendIdentity(body) {
    return fetch(api + "/identify", {method: "POST", headers: withJson(credentials(null)), body: JSON.stringify(body)})
      .then(function (response) { return response.json().then(function (data) { return {ok: response.ok, data: data}; }); })
      .then(function (result) {
        if (!result.ok) {
          if (window.console) console.warn("ChatWidget.setUser: " + (result.data.error ? result.data.error.message : "refused"));
          return null;
        }
        var changed = result.data.visitor_token !== visitorToken();
        keepVisitorToken(result.data.visitor_token);
        return refreshConversations().then(function (list) {
          if (changed && chat && !tabs.find(chat.session_id)) {        // the last user's conversation
            leaveConversation();
            chat = null;
            clearStorage();
          }
          if (!chat && list.length) switchTo(list[0].id);
          else if (!chat) showStart();
        });
      })
      .catch(function () { /* tried again at the next page load */ });
  }

  /* ChatWidget.reset(): this browser forgets its visitor (the site's logout). */
  function forgetVisitor() {
    inTurn(function () {      // after a setUser on its way: the token it brings is forgotten too
      var token = visitorToken();
      leaveConversation();
      clearTimeout(refreshTimer);
      listAsked += 1;
      keepVisitorToken(null);
      dropParkedExcept([]);
      clearStorage();
      chat = null;
      tabs.show([], null);
      showStart();
      if (!token) return null;
      return fetch(api + "/forget", {method: "POST", headers: {"X-Visitor-Token": token}}).catch(function () {});
    });
  }

  /* At load: the conversation left on screen, and the visitor's others as tabs; with none
     stored, the newest conversation; with none at all, the welcome. */
  function begin() {
    var stored = autoRestore ? load() : null;
    refreshConversations()
      .catch(function () { return []; })
      .then(function (list) {
        if (stored) restore(stored, true);
        else if (autoRestore && list.length) switchTo(firstOpen(list).id);
        else showStart();
      });
    startListPolling();
    window.parent.postMessage({type: "cc:ready"}, "*");
  }

  function firstOpen(list) {
    for (var i = 0; i < list.length; i++) if (list[i].is_open) return list[i];
    return list[0];
  }
  begin();
})();
