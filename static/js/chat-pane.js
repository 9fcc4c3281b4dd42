/* One live chat in a pane of the supervisor view: joined with its last seq (watching
 * silently), drawn by MessageLog, replies through ChatOutbox, who else is viewing it, and the
 * supervisor's actions: Join (as a participant), Reassign (to an agent or the queue), End.
 * Every action is an /agent event the server checks (docs/protocol.md); the pane only shows
 * what the server answered.
 */
(function (global) {
  "use strict";
  var HISTORY = 100;      // messages shown when a pane opens; the dashboard has the rest

  /* options: socket, template (the pane's <template>), me {id, name}, row (the chat's
     overview row), teamMembers() (for Reassign), onClose(pane), onError(error). */
  function ChatPane(container, options) {
    var self = this;
    this.socket = options.socket;
    this.me = options.me;
    this.options = options;
    this.sessionId = options.row.session_id;
    this.row = options.row;
    this.element = options.template.content.firstElementChild.cloneNode(true);
    this.element.dataset.sessionId = this.sessionId;
    container.appendChild(this.element);
    this.find = function (selector) { return self.element.querySelector(selector); };
    this.input = this.find(".pane-input");
    this.input.maxLength = options.maxLength;
    this.joined = false;

    var messages = this.find(".pane-messages");
    this.log = new ChatUI.MessageLog(messages, {
      mine: "agent",
      requestSync: function (after) { self.sync(after); },
      onShown: function (message) { self.outbox.forget(message.client_id); messages.scrollTop = messages.scrollHeight; }
    });
    this.log.lastSeq = Math.max(0, (this.row.last_seq || 0) - HISTORY);
    this.outbox = new ChatOutbox(this.log, {
      senderName: this.me.name, fields: {session_id: this.sessionId}, limit: 100,
      send: function (item) { if (self.socket.connected) self.outbox.emit(self.socket, item); }
    });
    this.tray = new ChatUploads.Tray({
      list: this.find(".pane-uploads"), status: this.find(".pane-upload-status"), focusAfter: this.input,
      url: "/api/v1/agent/attachments",
      fields: function () { return {session_id: self.sessionId}; },
      headers: function () { return {"X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content}; },
      onChange: function () { self.showControls(); }
    });
    var attach = function (files) { if (!self.input.disabled) self.tray.add(files); };
    ChatUploads.picker(this.find(".attach-button"), this.find(".attach-input"), attach);
    ChatUploads.dropZone(this.element, attach, function () { return !self.input.disabled; });
    ChatUploads.pasteFiles(this.input, attach);
    this.typing = new ChatUI.TypingIndicator(this.find(".pane-typing"));
    this.notifier = new ChatUI.TypingNotifier(function (isTyping) {
      if (self.mayWrite()) self.socket.emit("typing", {session_id: self.sessionId, is_typing: isTyping});
    });

    this.find(".pane-close").addEventListener("click", function () { self.close(); });
    this.find(".pane-join").addEventListener("click", function () { self.joinChat(); });
    this.find(".pane-transfer").addEventListener("click", function () { self.transfer(); });
    this.find(".pane-end").addEventListener("click", function () { self.end(); });
    this.find(".pane-note").addEventListener("change", function () {
      if (self.find(".pane-note").checked) self.notifier.stop();   // a note is never announced
      self.showControls();
    });
    this.find(".pane-composer").addEventListener("submit", function (event) { event.preventDefault(); self.send(); });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); self.send(); }
    });
    this.input.addEventListener("input", function () {
      if (!self.find(".pane-note").checked) self.notifier.keystroke();
    });

    this.update(this.row);
    this.showViewers([]);
    if (this.socket.connected) this.watch();
  }

  /* Follow the chat without a word to anyone: its room, from the last seq shown. */
  ChatPane.prototype.watch = function () {
    var self = this;
    this.socket.emit("join_session", {session_id: this.sessionId, last_seq: this.log.lastSeq}, function (reply) {
      if (!reply || !reply.ok) {
        self.gone(reply && reply.error ? reply.error.message : "This chat could not be opened.");
        return;
      }
      self.update(reply.session);
      self.setVisitorOnline(reply.visitor_online);
      if (reply.viewers) self.showViewers(reply.viewers);
      self.log.catchUp(reply.session.last_seq);
      self.outbox.emitAll(self.socket);
    });
  };

  ChatPane.prototype.sync = function (after) {
    var self = this;
    this.socket.emit("sync", {session_id: this.sessionId, after_seq: after}, function (reply) {
      if (reply && reply.ok && !self.closed) self.log.acceptPage(reply);
    });
  };

  /* The chat's row changed (an overview row, a summary, a status): the header and buttons follow. */
  ChatPane.prototype.update = function (row) {
    for (var key in row) this.row[key] = row[key];
    this.holdsIt = this.row.status === "active" && this.row.agent_id === this.me.id;
    if (this.holdsIt) this.joined = true;
    this.find(".pane-visitor").textContent = this.row.visitor_name;
    this.find(".pane-status").textContent = this.row.status + (this.row.end_reason ? " (" + this.row.end_reason + ")" : "");
    this.find(".pane-agent").textContent = this.row.agent_name || "unassigned";
    this.showControls();
  };

  ChatPane.prototype.isOpen = function () {
    return this.row.is_open !== false && !this.closed;
  };

  /* Replies go to an active chat the supervisor joined; a note to any open chat. */
  ChatPane.prototype.mayWrite = function () {
    return this.isOpen() && this.row.status === "active" && this.joined;
  };

  ChatPane.prototype.showControls = function () {
    var open = this.isOpen();
    var note = this.find(".pane-note").checked;
    var writable = note ? open : this.mayWrite();
    this.find(".pane-join").hidden = !open || this.joined;
    this.find(".pane-end").disabled = !open;
    this.find(".pane-transfer").disabled = !open;
    this.find(".pane-transfer-to").disabled = !open;
    this.find(".pane-note").disabled = !open;
    this.input.disabled = !writable;
    var busy = this.tray ? this.tray.busy() : false;
    this.find(".pane-composer button[type=submit]").disabled = !writable || busy;
    this.find(".pane-composer button[type=submit]").title = busy ? "Wait for the files to finish uploading" : "";
    this.find(".attach-button").disabled = !writable;
    this.input.placeholder = !open ? "This chat has ended" : note ? "A note only the team sees…"
      : writable ? "Type a reply…" : "Join the chat to reply";
    this.fillTransferTargets();
  };

  /* Reassign to: the queue, or any enabled member of the team but the one holding it. */
  ChatPane.prototype.fillTransferTargets = function () {
    var select = this.find(".pane-transfer-to");
    var chosen = select.value;
    var options = [["", "Back to the queue"]];
    var members = this.options.teamMembers();
    for (var i = 0; i < members.length; i++) {
      if (members[i].agent_id === this.row.agent_id) continue;
      options.push([String(members[i].agent_id), members[i].name + " (" + members[i].presence + ")"]);
    }
    var same = select.options.length === options.length;
    for (var j = 0; same && j < options.length; j++) {
      same = select.options[j].value === options[j][0] && select.options[j].textContent === options[j][1];
    }
    if (same) return;
    select.replaceChildren();
    options.forEach(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[1];
      select.appendChild(option);
    });
    select.value = chosen;
    if (select.selectedIndex < 0) select.selectedIndex = 0;
  };

  ChatPane.prototype.showViewers = function (viewers) {
    var line = this.find(".pane-viewers");
    var me = this.me.id;
    var others = viewers.filter(function (viewer) { return viewer.agent_id !== me; });
    line.textContent = others.length ? "Also viewing: " + others.map(function (viewer) {
      return viewer.name + " (" + viewer.role + ")";
    }).join(", ") : "Nobody else is viewing";
    line.dataset.count = others.length;
  };

  ChatPane.prototype.setVisitorOnline = function (online) {
    var element = this.find(".pane-presence");
    element.textContent = online ? "visitor online" : "visitor offline";
    element.dataset.online = online ? "true" : "false";
  };

  ChatPane.prototype.notice = function (text) {
    var element = this.find(".pane-notice");
    element.textContent = text;
    element.hidden = !text;
  };

  ChatPane.prototype.act = function (event, data, button, done) {
    var self = this;
    if (button) button.disabled = true;
    this.socket.emit(event, data, function (reply) {
      if (button) button.disabled = false;
      if (!reply || !reply.ok) { self.notice((reply && reply.error && reply.error.message) || "That did not work; try again."); }
      else { self.notice(""); if (done) done(reply); }
      self.showControls();
    });
  };

  ChatPane.prototype.joinChat = function () {
    var self = this;
    this.act("join_chat", {session_id: this.sessionId}, this.find(".pane-join"), function () {
      self.joined = true;
      self.input.focus();
    });
  };

  ChatPane.prototype.transfer = function () {
    var value = this.find(".pane-transfer-to").value;
    var data = {session_id: this.sessionId, to_agent_id: value ? Number(value) : null};
    var self = this;
    this.act("transfer_session", data, this.find(".pane-transfer"), function () { self.joined = false; });
  };

  ChatPane.prototype.end = function () {
    if (!global.confirm("End this chat?")) return;
    this.act("end_session", {session_id: this.sessionId}, this.find(".pane-end"));
  };

  ChatPane.prototype.send = function () {
    var text = this.input.value.trim();
    var note = this.find(".pane-note").checked;
    if (this.input.disabled) return;
    if (this.tray.busy()) { this.tray.say("Wait for the files to finish uploading."); return; }
    if (!text && !this.tray.hasReady()) return;
    if (this.outbox.items.length >= this.outbox.limit) { this.notice("Too many unsent replies; wait for the connection."); return; }
    var item = this.outbox.add(text, note, null, this.tray.take());
    this.input.value = "";
    this.notifier.stop();
    if (this.socket.connected) this.outbox.emit(this.socket, item);
  };

  /* Live events of this chat (the page routes them by session_id). */
  ChatPane.prototype.receive = function (event, data) {
    if (event === "message") this.log.accept(data);
    else if (event === "typing") this.typing.update(data.sender_name, data.is_typing);
    else if (event === "message_delivery") this.log.setDelivery(data.seq, {state: data.state, error: data.error || null}, data.message_id);
    else if (event === "presence" && "visitor_online" in data) this.setVisitorOnline(data.visitor_online);
    else if (event === "viewers") this.showViewers(data.viewers || []);
    else if (event === "session_status") {
      // The server closed the chat's room: watch again from the last seq shown.
      this.update({status: data.status, agent_name: data.agent_name, end_reason: data.end_reason,
                   is_open: data.is_open, is_queued: data.is_queued});
      if (data.is_open) this.watch();
      else this.showViewers([]);
    }
  };

  /* The server no longer lets this supervisor see the chat (it should not happen: a supervisor
     sees every chat), or the chat is gone: say so, keep what was shown. */
  ChatPane.prototype.gone = function (text) {
    this.notice(text);
    this.row.is_open = false;
    this.showControls();
  };

  ChatPane.prototype.close = function () {
    if (this.closed) return;
    this.closed = true;
    this.notifier.stop();
    this.tray.clear();
    if (this.socket.connected) this.socket.emit("leave_session", {session_id: this.sessionId});
    this.element.remove();
    this.options.onClose(this);
  };

  global.ChatPane = ChatPane;
})(window);
