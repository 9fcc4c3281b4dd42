/* The agent dashboard: live session list, one open chat, real-time messages. */
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  var sessionList = document.getElementById("sessionList");
  var chatWindow = document.getElementById("chatWindow");
  var errorBox = document.getElementById("dashboardError");
  var agentName = root.dataset.agentName;
  var agentId = Number(root.dataset.agentId);
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  htmx.config.includeIndicatorStyles = false;
  htmx.config.allowEval = false;
  document.body.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken;
  });

  // Long-polling first, then the upgrade: a proxy that blocks WebSocket still works.
  var socket = io("/agent", {withCredentials: true, reconnectionDelay: 500, reconnectionDelayMax: 10000,
                             randomizationFactor: 0.5});
  ChatUI.watchConnection(socket, document.getElementById("connectionStatus"));

  var current = null;   // {sessionId, log, typing, notifier, outbox, tray}
  var trays = {};       // session id -> its files being attached (uploads.js), kept while the page lives
  var selectedId = null;
  var endedWhileOpen = null;   // the open chat's id, once it ended on screen

  function showError(error) {
    errorBox.textContent = (error && error.message) || "Something went wrong.";
    errorBox.hidden = false;
    setTimeout(function () { errorBox.hidden = true; }, 5000);
  }

  /* ---- session list and the highlight (seed 000) ---- */

  function sessionItems() { return sessionList.querySelectorAll(".session-item"); }

  function highlightSelectedSession(item) {
    var items = sessionItems();
    for (var i = 0; i < items.length; i++) items[i].classList.remove("session-selected", "bg-blue-100");
    if (item) item.classList.add("session-selected", "bg-blue-100");
  }

  function selectSession(item) {
    unavailableShown = false;
    highlightSelectedSession(item);
    var id = item.dataset.sessionId;
    if (id !== selectedId || !current) openChat(id);
  }

  function highlightAndClickFirstSession() {
    var first = sessionItems()[0];
    if (first) selectSession(first);
  }

  /* After a refresh the open chat keeps its highlight while it is still listed;
     otherwise the first session is highlighted and opened. A chat that ended while
     open leaves the list but stays on screen (nothing highlighted) until the agent
     picks another, so the agent sees that it ended. */
  function afterListRefresh() {
    var keep = selectedId && sessionList.querySelector('.session-item[data-session-id="' + CSS.escape(selectedId) + '"]');
    if (keep) highlightSelectedSession(keep);
    // Also a chat still on screen that left the lists (it ended, or a supervisor watches
    // another agent's chat): it stays until the agent picks another.
    else if (selectedId && (selectedId === endedWhileOpen || (current && current.sessionId === selectedId))) {
      highlightSelectedSession(null);
    }
    // "This chat is no longer available to you" stays until the agent picks another chat.
    else if (unavailableShown) highlightSelectedSession(null);
    else highlightAndClickFirstSession();
    updateWaitingTimes();
    clearOnScreenBadge();
    updateTitle();
  }

  /* A list drawn while the open chat's last messages were being marked read may count them:
     the chat on screen has nothing unread. */
  function clearOnScreenBadge() {
    if (!current || !onScreen(current.sessionId)) return;
    var badge = sessionList.querySelector('.session-item[data-session-id="' + CSS.escape(current.sessionId) + '"] .unread');
    if (badge && badge.dataset.unread !== "0") { setUnread(badge, 0); markRead(); }
  }

  sessionList.addEventListener("click", function (event) {
    var item = event.target.closest(".session-item");
    if (item) pickSession(item);
  });
  sessionList.addEventListener("keydown", function (event) {
    var item = event.target.closest(".session-item");
    if (item && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); pickSession(item); }
  });

  /* A phone shows one screen at a time (app.css): the list, or the chat the agent picked, once
     it is drawn (never the one before it, nor one opened for them). Going back keeps the chat
     open and joined, as it stays on a desktop. */
  var pickedId = null;    // picked, not drawn yet
  var unavailableShown = false;   // the chat window says the chat on screen is no longer this agent's

  function pickSession(item) {
    selectSession(item);
    if (current && current.sessionId === item.dataset.sessionId) showScreen("chat");
    else pickedId = item.dataset.sessionId;
  }

  function showScreen(name) {
    root.dataset.screen = name;
    var messages = document.getElementById("messages");
    // A chat drawn while its screen was hidden could not scroll to its latest message.
    if (name === "chat" && messages) messages.scrollTop = messages.scrollHeight;
    if (name === "chat") markRead();
  }

  function backToList() {
    sendReadMark();    // what was on screen has been read, even if that was a moment ago
    showScreen("list");
    var selected = sessionList.querySelector(".session-selected");
    if (selected) selected.focus();    // a keyboard goes on from the chat it left
  }

  var refreshTimer = null;
  function refreshList() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { htmx.trigger(document.body, "refresh-list"); }, 100);
  }

  /* A new message in a chat the list shows, and still in the same group: its preview changes
     in place. Anything else (a chat appears, moves between groups, leaves) reloads the list. */
  function showPreview(update) {
    if (!("last_message" in update) || "visitor_name" in update) return false;     // not a preview
    var item = sessionList.querySelector('.session-item[data-session-id="' + CSS.escape(update.session_id) + '"]');
    if (!item || item.dataset.status !== update.status) return false;
    // The list counts what it was drawn with (data-last-seq): a preview it already holds is not
    // counted again, and one that comes after a message it never heard of leaves the count to
    // the server (a list reloaded while messages arrived held one count too many or too few).
    var drawnWith = Number(item.dataset.lastSeq || 0);
    if (typeof update.last_seq === "number") {
      if (update.last_seq <= drawnWith) return true;
      item.dataset.lastSeq = update.last_seq;
      if (update.last_seq > drawnWith + 1) { refreshList(); return true; }
    }
    item.querySelector(".session-last").textContent = update.last_message;
    var time = item.querySelector("time[data-follows-messages]");
    if (time && update.last_message_at) { time.dataset.since = update.last_message_at; updateWaitingTimes(); }
    var badge = item.querySelector(".unread");
    if (badge && update.sender_type === "visitor" && !onScreen(update.session_id)) {
      setUnread(badge, Number(badge.dataset.unread) + 1);
      ChatAlerts.alert("New message from " + update.sender_name, update.last_message, update.session_id);
    }
    return true;
  }

  /* ---- what needs the agent: unread badges, the tab title, alerts ---- */

  var baseTitle = document.title;
  function onScreen(sessionId) {
    return current !== null && current.sessionId === sessionId && document.visibilityState === "visible"
      && chatWindow.getClientRects().length > 0;     // a phone on the list screen hides the chat
  }
  function setUnread(badge, count) {
    badge.dataset.unread = count;
    badge.textContent = count;
    badge.setAttribute("aria-label", count + " unread");
    badge.hidden = count === 0;
    updateTitle();
  }
  /* "(3) Dashboard": chats waiting, plus my chats with unread messages. */
  function updateTitle() {
    var waitingCount = document.getElementById("waitingCount");
    var count = (waitingCount ? Number(waitingCount.textContent) || 0 : 0)
      + sessionList.querySelectorAll("#mySessions .unread:not([hidden])").length;
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
  }
  function alertNewWaitingChat(update) {
    if (!("visitor_name" in update) || !update.in_line) return;
    var listed = sessionList.querySelector('.session-item[data-session-id="' + CSS.escape(update.session_id) + '"]');
    if (!listed) ChatAlerts.alert("New chat waiting", update.visitor_name, update.session_id);
  }

  /* The open chat, on screen, is read up to its last message shown: its badge clears here
     and, through the server, in the agent's other tabs. */
  var markReadTimer = null;
  function markRead() {
    clearTimeout(markReadTimer);
    markReadTimer = setTimeout(sendReadMark, 300);
  }
  function sendReadMark() {
    if (!current || !socket.connected || !onScreen(current.sessionId)) return;
    socket.emit("mark_read", {session_id: current.sessionId, seq: current.log.lastSeq});
  }
  document.addEventListener("visibilitychange", markRead);
  ChatAlerts.offerOn(document.getElementById("alertsButton"));

  function updateWaitingTimes() {
    var times = sessionList.querySelectorAll("time[data-since]");
    for (var i = 0; i < times.length; i++) {
      var seconds = Math.max(0, Math.round((Date.now() - new Date(times[i].dataset.since)) / 1000));
      times[i].textContent = seconds < 60 ? seconds + "s" : seconds < 3600 ? Math.floor(seconds / 60) + "m"
        : Math.floor(seconds / 3600) + "h " + Math.floor((seconds % 3600) / 60) + "m";
    }
  }
  setInterval(updateWaitingTimes, 15000);
  // Messages whose event was lost on the way (and left no gap behind them) come in here.
  setInterval(function () {
    if (current && socket.connected) syncMessages(current.sessionId, current.log.lastSeq);
  }, 30000);

  /* ---- the open chat ---- */

  /* What the agent typed outlives a switch of chats and a reload: each chat's draft and
     unsent replies are kept in this browser's localStorage (cleared at logout). */
  var KEPT = "cc_kept:";
  function kept(kind, sessionId, empty) {
    try {
      var value = JSON.parse(localStorage.getItem(KEPT + kind + ":" + sessionId));
      return value === null ? empty : value;
    } catch (error) { return empty; }
  }
  function keep(kind, sessionId, value) {
    try {
      if (value && value.length) localStorage.setItem(KEPT + kind + ":" + sessionId, JSON.stringify(value));
      else localStorage.removeItem(KEPT + kind + ":" + sessionId);
    } catch (error) { /* storage full or disabled: the text stays on screen only */ }
  }
  var logoutForm = document.getElementById("logoutForm");
  if (logoutForm) logoutForm.addEventListener("submit", function () {
    Object.keys(localStorage).forEach(function (key) { if (key.indexOf(KEPT) === 0) localStorage.removeItem(key); });
  });

  function openChat(id) {
    selectedId = id;
    htmx.ajax("GET", "/dashboard/sessions/" + encodeURIComponent(id), {target: chatWindow, swap: "innerHTML"});
  }

  function bindChat() {
    var chat = document.getElementById("chat");
    var switched = !current || !chat || current.sessionId !== chat.dataset.sessionId;
    if (current && switched) socket.emit("leave_session", {session_id: current.sessionId});
    if (!chat) { current = null; showScreen("list"); return; }
    var messages = document.getElementById("messages");
    var sessionId = chat.dataset.sessionId;
    // The same chat drawn again (a status change, a claim) keeps what is still unsent.
    var outbox = current && current.sessionId === sessionId ? current.outbox
      : new ChatOutbox(null, {senderName: agentName, fields: {session_id: sessionId}, limit: 100,
                              send: function (item) { if (socket.connected) outbox.emit(socket, item); },
                              items: kept("outbox", sessionId, []),
                              onChange: function () { keep("outbox", sessionId, outbox.items); },
                              onRefused: function (item, error) {
                                // WhatsApp's window closed meanwhile: only a template reaches the phone now.
                                if (error && error.code === "window_closed" && current && current.replyWindow) {
                                  current.replyWindow.needsTemplate(error.message);
                                }
                              }});
    var keptMode = current && current.sessionId === sessionId ? current.mode : null;
    var tray = trayFor(sessionId);
    var log = new ChatUI.MessageLog(messages, {
      mine: "agent",
      requestSync: function (after) { syncMessages(sessionId, after); },
      onShown: function (message) {
        outbox.forget(message.client_id);
        messages.scrollTop = messages.scrollHeight;
        markRead();
        if (current && current.sessionId === sessionId && current.replyWindow) current.replyWindow.heard(message);
      }
    });
    current = {
      sessionId: sessionId,
      outbox: outbox,
      tray: tray,
      log: log,
      typing: new ChatUI.TypingIndicator(document.getElementById("typingIndicator")),
      notifier: new ChatUI.TypingNotifier(function (isTyping) {
        socket.emit("typing", {session_id: sessionId, is_typing: isTyping});
      })
    };
    // WhatsApp's 24-hour window: the header's countdown, the template picker once it closes.
    current.replyWindow = new ChatReplyWindow(chat, {
      sessionId: sessionId, csrfToken: csrfToken, composer: document.getElementById("composer"),
      onSent: function (message) { if (current && current.sessionId === sessionId) current.log.accept(message); }
    });
    messages.scrollTop = messages.scrollHeight;
    outbox.showPending(log);
    if (socket.connected) joinCurrent();

    var input = document.getElementById("messageInput");
    if (!input.disabled) input.value = kept("draft", sessionId, "");
    bindUploads(tray, input);
    document.getElementById("composer").addEventListener("submit", function (event) {
      event.preventDefault();
      sendReply(input);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendReply(input); }
    });
    input.addEventListener("input", function () {
      keep("draft", sessionId, input.value);
      if (composerMode() === "reply") current.notifier.keystroke();     // a note is never announced
    });
    var accept = document.getElementById("acceptButton");
    if (accept) accept.addEventListener("click", function () { claim(sessionId, accept); });
    var end = document.getElementById("endButton");
    if (end) end.addEventListener("click", function () { endChat(sessionId); });
    var join = document.getElementById("joinButton");
    if (join) join.addEventListener("click", function () { joinAsParticipant(sessionId, join); });
    bindComposerModes(input, keptMode);
    bindTransfer(sessionId);
    showLocalTime();
    // A narrow screen starts with the visitor's details folded, above the messages.
    if (window.matchMedia("(max-width: 1100px)").matches) document.getElementById("visitorPanel").open = false;
    document.getElementById("backButton").addEventListener("click", backToList);
    if (sessionId === pickedId) { pickedId = null; showScreen("chat"); }
    else if (switched) showScreen("list");
  }

  function joinCurrent() {
    var session = current;
    socket.emit("join_session", {session_id: session.sessionId, last_seq: session.log.lastSeq}, function (reply) {
      if (!reply || !reply.ok) { showError(reply && reply.error); return; }
      setVisitorPresence(reply.visitor_online);
      showViewers(reply.viewers);
      session.log.catchUp(reply.session.last_seq);      // the replay was one page
      session.outbox.emitAll(socket);
      markRead();
    });
  }

  function syncMessages(sessionId, after) {
    socket.emit("sync", {session_id: sessionId, after_seq: after}, function (reply) {
      if (reply && reply.ok && current && current.sessionId === sessionId) current.log.acceptPage(reply);
    });
  }

  function sendReply(input) {
    var text = input.value.trim();
    if (!current || input.disabled) return;
    var tray = current.tray;
    if (tray.busy()) { document.getElementById("uploadStatus").textContent = "Wait for the files to finish uploading."; return; }
    if (!text && !tray.hasReady()) return;
    if (current.outbox.items.length >= current.outbox.limit) {
      showError({message: "Too many unsent replies; wait for the connection."});
      return;
    }
    var item = current.outbox.add(text, composerMode() === "note", null, tray.take());
    input.value = "";
    keep("draft", current.sessionId, "");
    current.notifier.stop();
    if (socket.connected) current.outbox.emit(socket, item);
  }

  /* ---- files attached to a reply or a note (uploads.js) ---- */

  /* Each chat's files being attached: a redraw of the chat, or a switch to another and back,
     keeps them and their uploads; a reload keeps the finished ones (localStorage, like drafts). */
  function trayFor(sessionId) {
    if (!trays[sessionId]) {
      trays[sessionId] = new ChatUploads.Tray({
        list: null, url: "/api/v1/agent/attachments",
        fields: function () { return {session_id: sessionId}; },
        headers: function () { return {"X-CSRFToken": csrfToken}; },
        onChange: function (tray) {
          keep("uploads", sessionId, tray.ready());          // a reload keeps the finished ones
          if (current && current.tray === tray) refreshSend();
        }
      });
      trays[sessionId].restore(kept("uploads", sessionId, []));
    }
    return trays[sessionId];
  }

  function bindUploads(tray, input) {
    var composer = document.getElementById("composer");
    var button = composer.querySelector(".attach-button");
    tray.options.focusAfter = input;
    tray.mount(document.getElementById("uploadTray"), document.getElementById("uploadStatus"));
    if (!button) { tray.clear(); return; }      // this agent may no longer write in this chat
    function attach(files) { if (!input.disabled && current && current.tray === tray) tray.add(files); }
    ChatUploads.picker(button, composer.querySelector(".attach-input"), attach);
    ChatUploads.dropZone(document.querySelector("#chat .chat-main"), attach, function () { return !input.disabled; });
    ChatUploads.pasteFiles(input, attach);
    refreshSend();
  }

  /* Send waits for the uploads still running; the paperclip follows the message box. */
  function refreshSend() {
    var send = document.getElementById("sendButton");
    var input = document.getElementById("messageInput");
    if (!send || !input || !current) return;
    var busy = current.tray.busy();
    send.disabled = input.disabled || busy;
    send.title = busy ? "Wait for the files to finish uploading" : "";
    var button = document.querySelector("#composer .attach-button");
    if (button) button.disabled = input.disabled;
  }

  /* An action's `session_status` comes before its ack (one socket keeps the order) and
     redraws the chat; the ack redraws it only when none came, so the chat is drawn once and
     nothing typed meanwhile goes to a box about to be replaced. */
  var statusCount = 0;
  var statusSeenAt = {};      // session id -> statusCount when its last session_status came
  function redrawUnlessStatusCame(sessionId, mark) {
    refreshList();
    if (!(statusSeenAt[sessionId] > mark)) openChat(sessionId);
  }

  function claim(sessionId, button) {
    button.disabled = true;
    var mark = statusCount;
    socket.emit("claim_session", {session_id: sessionId}, function (reply) {
      if (!reply || !reply.ok) { showError(reply && reply.error); button.disabled = false; }
      redrawUnlessStatusCame(sessionId, mark);
    });
  }

  function endChat(sessionId) {
    if (!window.confirm("End this chat?")) return;
    var mark = statusCount;
    socket.emit("end_session", {session_id: sessionId}, function (reply) {
      if (!reply || !reply.ok) showError(reply && reply.error);
      redrawUnlessStatusCame(sessionId, mark);
    });
  }

  /* ---- working together: notes, transfer, join, who else is viewing ---- */

  function composerMode() {
    var composer = document.getElementById("composer");
    return composer ? composer.dataset.mode : "reply";
  }

  /* Reply goes to the visitor; Note stays with the team (drawn as a note, never sent on, and
     never announced: typing goes out in Reply mode only). */
  /* The chosen mode outlives a redraw of the same chat (a claim, a status change). */
  function bindComposerModes(input, keptMode) {
    var composer = document.getElementById("composer");
    var send = document.getElementById("sendButton");
    function choose(button) {
      composer.dataset.mode = button.dataset.mode;
      current.mode = button.dataset.mode;
      composer.querySelectorAll(".mode").forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      var note = button.dataset.mode === "note";
      if (note) current.notifier.stop();        // the visitor no longer sees "is typing…"
      input.disabled = false;
      send.disabled = false;
      refreshSend();
      input.placeholder = note ? input.dataset.notePlaceholder : input.dataset.replyPlaceholder;
      send.textContent = note ? "Add note" : "Send";
      if (current.replyWindow) current.replyWindow.show();     // a closed WhatsApp window: Reply is a template
    }
    composer.querySelectorAll(".mode").forEach(function (button) {
      button.addEventListener("click", function () { choose(button); input.focus(); });
      if (button.dataset.mode === keptMode && !button.disabled && composer.dataset.mode !== keptMode) choose(button);
    });
  }

  /* The Transfer button of the chat on screen opens the page's one dialog, filled with who
     can take this chat; the dialog transfers the chat it was opened for. */
  var transferDialog = document.getElementById("transferDialog");
  var transferSessionId = null;
  var transferring = null;     // handed on by this tab: not "Accepted by" someone
  function bindTransfer(sessionId) {
    var button = document.getElementById("transferButton");
    if (!button) return;
    button.addEventListener("click", function () {
      if (transferSessionId !== sessionId) {
        transferSessionId = sessionId;
        document.getElementById("transferTo").replaceChildren(
          document.getElementById("transferOptions").content.cloneNode(true));
        document.getElementById("transferNote").value = "";
      }
      document.getElementById("transferError").hidden = true;
      transferDialog.showModal();
    });
  }
  document.getElementById("transferCancel").addEventListener("click", function () { transferDialog.close(); });
  document.getElementById("transferForm").addEventListener("submit", function (event) {
    event.preventDefault();
    var sessionId = transferSessionId;
    var to = document.getElementById("transferTo").value;
    var submit = document.getElementById("transferSubmit");
    var error = document.getElementById("transferError");
    submit.disabled = true;
    var mark = statusCount;
    transferring = sessionId;
    socket.emit("transfer_session", {session_id: sessionId, to_agent_id: to ? Number(to) : null,
                                     note: document.getElementById("transferNote").value},
      function (reply) {
        submit.disabled = false;
        transferring = null;
        if (!reply || !reply.ok) {         // the dialog stays, with what was typed
          error.textContent = (reply && reply.error && reply.error.message) || "The chat could not be transferred.";
          error.hidden = false;
          return;
        }
        transferSessionId = null;
        transferDialog.close();
        redrawUnlessStatusCame(sessionId, mark);
      });
  });

  function joinAsParticipant(sessionId, button) {
    button.disabled = true;
    var mark = statusCount;
    socket.emit("join_chat", {session_id: sessionId}, function (reply) {
      if (!reply || !reply.ok) { showError(reply && reply.error); button.disabled = false; return; }
      button.hidden = true;
      redrawUnlessStatusCame(sessionId, mark);
    });
  }

  /* "Also viewing: Sam (agent)": everyone else of the team with this chat open. */
  function showViewers(viewers) {
    var element = document.getElementById("viewers");
    if (!element || !viewers) return;
    var others = viewers.filter(function (viewer) { return viewer.agent_id !== agentId; });
    element.hidden = others.length === 0;
    element.textContent = others.length ? "Also viewing: " + others.map(function (viewer) {
      return viewer.name + " (" + viewer.role + ")";
    }).join(", ") : "";
  }

  /* The visitor's time of day where they are, when their browser said its time zone. */
  function showLocalTime() {
    var element = document.getElementById("visitorLocalTime");
    if (!element || !element.dataset.timeZone) return;
    try {
      element.textContent = new Date().toLocaleTimeString([], {hour: "2-digit", minute: "2-digit",
        timeZone: element.dataset.timeZone}) + " (" + element.dataset.timeZone + ")";
    } catch (e) { /* a zone this browser does not know: the name stays */ }
  }
  setInterval(showLocalTime, 30000);

  function setVisitorPresence(online) {
    var element = document.getElementById("visitorPresence");
    if (element) {
      element.textContent = online ? "visitor online" : "visitor offline";
      element.dataset.online = online ? "true" : "false";
    }
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === sessionList) afterListRefresh();
    else if (event.detail.target === chatWindow) bindChat();
    else if (current) current.log.showHistory();     // a page of earlier messages
  });
  /* A chat this agent may no longer view (another agent claimed it, it ended): stop
     following it, so nothing of it is shown or asked for any more. */
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.target !== chatWindow) return;
    if (current) socket.emit("leave_session", {session_id: current.sessionId});
    var chat = document.getElementById("chat");
    if (current && acceptedBy[current.sessionId] && chat) {
      showAcceptedElsewhere(chat, acceptedBy[current.sessionId]);
    } else {
      var note = document.createElement("p");
      note.className = "muted empty";
      note.textContent = "This chat is no longer available to you.";
      chatWindow.replaceChildren(note);
      unavailableShown = true;
      showScreen("list");     // the note has no back button; the list shows where things stand
    }
    pickedId = null;
    current = null;
    selectedId = null;
    refreshList();
  });

  /* Another agent accepted the chat on screen: it stays, read-only, saying who took it, so
     nobody is switched to another customer's chat mid-sentence. */
  var acceptedBy = {};
  function showAcceptedElsewhere(chat, agentName) {
    chat.querySelectorAll("button, textarea").forEach(function (control) { control.disabled = true; });
    if (trays[chat.dataset.sessionId]) trays[chat.dataset.sessionId].clear();
    var accept = document.getElementById("acceptButton");
    if (accept) accept.hidden = true;
    document.getElementById("chatStatus").textContent = "active";
    var presence = document.getElementById("visitorPresence");
    if (presence) presence.parentNode.remove();   // no longer followed: its presence would go stale
    document.getElementById("messageInput").placeholder = "Accepted by " + agentName;
    var banner = document.createElement("p");
    banner.className = "chat-banner";
    banner.id = "acceptedBy";
    banner.setAttribute("role", "status");
    banner.textContent = "Accepted by " + agentName;
    chat.querySelector(".chat-header").after(banner);
  }

  /* ---- live events ---- */

  socket.on("connect", function () {
    refreshList();                    // never show a queue from before the disconnect
    if (current) joinCurrent();
  });
  /* A login that ended (logout elsewhere, disabled, password or role changed) lands on the
     login page with a sentence saying why. The server closes such a socket itself, and
     Socket.IO does not reconnect after that on its own: this reconnect is refused with
     login_required when the login is gone (and goes through after a server restart). */
  function loginEnded() { window.location.href = "/login?ended=1"; }
  socket.on("connect_error", function (error) {
    if (error && error.data && error.data.code === "login_required") loginEnded();
  });
  socket.on("disconnect", function (reason) {
    if (reason === "io server disconnect") socket.connect();
  });
  socket.on("queue_update", function (update) {
    if (showPreview(update)) return;
    alertNewWaitingChat(update);
    refreshList();
  });
  socket.on("read_state", function (state) {
    var badge = sessionList.querySelector('.session-item[data-session-id="' + CSS.escape(state.session_id) + '"] .unread');
    if (badge) setUnread(badge, 0);
  });
  socket.on("message", function (message) {
    if (current && message.session_id === current.sessionId) current.log.accept(message);
  });
  /* A message on its way to a WhatsApp or LINE phone moved on: its ticks (delivery.js); WhatsApp
     refusing it for the closed window (131047) opens the template picker. */
  socket.on("message_delivery", function (event) {
    if (!current || event.session_id !== current.sessionId) return;
    current.log.setDelivery(event.seq, {state: event.state, error: event.error || null}, event.message_id);
    if (event.needs_template && current.replyWindow) {
      current.replyWindow.needsTemplate("WhatsApp did not deliver a message: the customer's 24-hour window has closed. Only an approved template reaches them now.");
    }
  });
  socket.on("typing", function (event) {
    if (current && event.session_id === current.sessionId) current.typing.update(event.sender_name, event.is_typing);
  });
  /* A status change closes the chat's room on the server: the re-fetch re-joins it with the
     last seq shown (nothing is lost), or answers 404 when this agent may no longer view it. */
  socket.on("session_status", function (status) {
    statusSeenAt[status.session_id] = ++statusCount;
    if (current && status.session_id === current.sessionId) {
      if (!status.is_open) endedWhileOpen = status.session_id;
      // Someone else took the chat on screen (not this agent's own claim, nor its transfer).
      if (status.status === "active" && status.agent_name && status.agent_name !== agentName
          && status.session_id !== transferring) {
        acceptedBy[status.session_id] = status.agent_name;
      } else {
        delete acceptedBy[status.session_id];
      }
      openChat(status.session_id);
    }
    refreshList();
  });
  socket.on("viewers", function (event) {
    if (current && event.session_id === current.sessionId) showViewers(event.viewers);
  });
  socket.on("presence", function (event) {
    if (current && event.session_id === current.sessionId) setVisitorPresence(event.visitor_online);
  });
  socket.on("error", function (error) {
    if (error && error.code === "login_required") loginEnded();
    else if (error && error.code !== "invalid_payload") showError(error);
  });
})();
