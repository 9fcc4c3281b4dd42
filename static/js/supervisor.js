/* The supervisor view: every open chat as a row kept up to date by events (one row changes
 * in place per event; the whole list is read only with the page and at each connect), the team, and up to
 * three chats side by side (chat-pane.js). The clocks tick here from the timestamps the
 * server sent; the rules behind them are the server's (docs/protocol.md, "The supervisor view").
 */
(function () {
  "use strict";
  var root = document.getElementById("supervisor");
  var rowsBody = document.getElementById("chatRows");
  var noChats = document.getElementById("noChats");
  var chatCount = document.getElementById("chatCount");
  var statusFilter = document.getElementById("statusFilter");
  var agentFilter = document.getElementById("agentFilter");
  var teamList = document.getElementById("teamList");
  var panesBox = document.getElementById("panes");
  var noPanes = document.getElementById("noPanes");
  var errorBox = document.getElementById("supervisorError");
  var paneTemplate = document.getElementById("paneTemplate");
  var me = {id: Number(root.dataset.agentId), name: root.dataset.agentName};
  var MAX_PANES = 3;

  var rows = {};          // session_id -> {data, element, cells, touched}
  var team = {};          // agent_id -> member
  var panes = [];         // oldest first
  var clockOffset = 0;    // server time minus this browser's

  var socket = io("/agent", {withCredentials: true, reconnectionDelay: 500, reconnectionDelayMax: 10000,
                             randomizationFactor: 0.5});
  ChatUI.watchConnection(socket, document.getElementById("connectionStatus"));

  function showError(text) {
    errorBox.textContent = text || "Something went wrong.";
    errorBox.hidden = false;
    setTimeout(function () { errorBox.hidden = true; }, 5000);
  }

  /* ---- the list: read with the page, and again at every connect ---- */

  /* The first read starts with the page, beside the socket's connect, and the list is drawn as
     soon as it arrives. An event published between that read and the socket joining
     `supervisors` would reach neither, so every connect reads the list again (after the join:
     nothing falls between). A read is shown only if it was sent after the one on screen, and a
     chat seen closed never comes back from a read that started before it closed. */
  var reads = 0;          // reads sent
  var shownRead = 0;      // the read the list shows
  var closed = {};        // session_id -> true: chats seen closed (a closed chat never reopens)

  /* Who views a chat and whether its visitor is online change without a row of their own: what
     an event told of them after a read was sent outlives that read's older answer. */
  function newerNewsKept(chat, started) {
    var row = rows[chat.session_id];
    if (!row || !row.heardAt) return chat;
    Object.keys(row.heardAt).forEach(function (field) {
      if (row.heardAt[field] >= started) chat[field] = row.data[field];
    });
    return chat;
  }

  function heard(row, field) {
    row.heardAt = row.heardAt || {};
    row.heardAt[field] = Date.now();
  }

  function loadOverview() {
    var started = Date.now();
    var read = ++reads;
    // As the page's <link rel="preload"> asks it (no extra headers), so the first read takes its answer.
    fetch(root.dataset.overviewUrl, {credentials: "same-origin"})
      .then(function (response) {
        if (response.status === 401 || response.redirected) { window.location.href = "/login?ended=1"; return null; }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (overview) {
        if (!overview || read < shownRead) return;
        shownRead = read;
        clockOffset = new Date(overview.now).getTime() - Date.now();
        var listed = {};
        overview.team.forEach(function (member) { team[member.agent_id] = member; });
        placing = false;                  // placed all at once below, not one by one
        overview.chats.forEach(function (chat) { listed[chat.session_id] = true; upsertRow(newerNewsKept(chat, started)); });
        placing = true;
        // Rows that closed before the read go; those an event brought in since the read stay.
        Object.keys(rows).forEach(function (id) {
          if (!listed[id] && rows[id].touched < started) { closed[id] = true; removeRow(id); }
        });
        placeAll();
        noChats.textContent = "No open chats.";
        afterChange();
        root.dataset.shownRead = read;                 // which read the list shows (tests)
        if (!root.dataset.loadedAt) root.dataset.loadedAt = Math.round(performance.now());   // read by bin/bench
      })
      .catch(function () {
        if (read === reads) showError("The list could not be loaded; it will be read again at the next connect.");
      });
  }

  /* ---- rows ---- */

  function waitingSince(data) { return data.queued_at || data.started_at; }

  /* Longest waiting first: the queue by when each chat joined it, then the chats agents hold. */
  function sortKey(data) {
    return (data.is_queued ? "0" : "1") + (waitingSince(data) || "");
  }

  function cell(row, name) {
    var element = document.createElement("td");
    element.className = "col-" + name;
    row.appendChild(element);
    return element;
  }

  function newRowElement(id) {
    var element = document.createElement("tr");
    element.dataset.sessionId = id;
    element.tabIndex = 0;
    var cells = {};
    ["visitor", "status", "agent", "waiting", "last", "abandon", "expiry", "open"].forEach(function (name) {
      cells[name] = cell(element, name);
    });
    var visitor = document.createElement("div");
    visitor.className = "row-visitor";
    var where = document.createElement("small");
    where.className = "muted row-where";
    cells.visitor.append(visitor, where);
    var agentName = document.createElement("div");
    agentName.className = "row-agent";
    var viewing = document.createElement("small");
    viewing.className = "row-viewers";
    cells.agent.append(agentName, viewing);
    var since = document.createElement("div");
    since.className = "row-since";
    var preview = document.createElement("small");
    preview.className = "muted row-preview";
    cells.last.append(since, preview);
    var open = document.createElement("button");
    open.type = "button";
    open.className = "row-open";
    open.textContent = "Open";
    cells.open.appendChild(open);
    return {element: element, cells: cells, visitor: visitor, where: where, since: since, preview: preview,
            agentName: agentName, viewing: viewing};
  }

  function upsertRow(data) {
    var row = rows[data.session_id];
    if (row && typeof data.last_seq === "number" && data.last_seq < row.data.last_seq) return;   // older news
    if (closed[data.session_id]) { if (!data.is_open) paneUpdate(data); return; }   // an older read's row: ignored
    if (!data.is_open) { closed[data.session_id] = true; removeRow(data.session_id); paneUpdate(data); return; }
    if (!row) {
      row = rows[data.session_id] = newRowElement(data.session_id);
      row.data = {};
    }
    var oldKey = row.data.session_id ? sortKey(row.data) : null;
    for (var key in data) row.data[key] = data[key];
    row.touched = Date.now();
    drawRow(row);
    if (placing && (oldKey !== sortKey(row.data) || !row.element.parentNode)) place(row);
    paneUpdate(row.data);
  }

  /* A message in a chat: its preview and clocks, in place. */
  function updatePreview(update) {
    var row = rows[update.session_id];
    if (!row || update.last_seq <= (row.data.last_seq || 0)) return;
    row.data.last_seq = update.last_seq;
    row.data.last_message = update.last_message;
    row.data.last_message_at = update.last_message_at;
    if (update.abandon_inactive_at) row.data.abandon_inactive_at = update.abandon_inactive_at;
    row.touched = Date.now();
    drawRow(row);
  }

  function updatePresence(event) {
    var row = rows[event.session_id];
    if (!row) return;
    row.data.visitor_online = event.visitor_online;
    heard(row, "visitor_online");
    if (event.abandon_inactive_at && row.data.is_queued) row.data.abandon_inactive_at = event.abandon_inactive_at;
    if (event.abandon_silent_at && row.data.is_queued) row.data.abandon_silent_at = event.abandon_silent_at;
    drawClocks(row, Date.now() + clockOffset);
  }

  var placing = true;

  function placeAll() {
    var ordered = Object.keys(rows).map(function (id) { return rows[id]; });
    ordered.forEach(function (row) { row.key = sortKey(row.data); });
    ordered.sort(function (a, b) { return a.key < b.key ? -1 : a.key > b.key ? 1 : 0; });
    var children = rowsBody.children;
    if (children.length === ordered.length
        && ordered.every(function (row, i) { return children[i] === row.element; })) return;   // as shown
    var fragment = document.createDocumentFragment();
    ordered.forEach(function (row) { fragment.appendChild(row.element); });
    rowsBody.appendChild(fragment);
  }

  function place(row) {
    var key = sortKey(row.data);
    var before = null;
    var children = rowsBody.children;
    for (var i = 0; i < children.length; i++) {
      var other = rows[children[i].dataset.sessionId];
      if (other !== row && other && sortKey(other.data) > key) { before = children[i]; break; }
    }
    rowsBody.insertBefore(row.element, before);
  }

  function removeRow(id) {
    var row = rows[id];
    if (!row) return;
    row.element.remove();
    delete rows[id];
    afterChange();
  }

  function drawRow(row) {
    var data = row.data;
    row.element.dataset.status = data.status;
    row.element.dataset.agentId = data.agent_id || "";
    setText(row.visitor, data.visitor_name);
    setText(row.where, (data.site_name || "") + " · " + (data.channel || "web"));
    setText(row.cells.status, data.status);
    setText(row.agentName, data.agent_name || "—");
    var viewers = (data.viewers || []).map(function (viewer) { return viewer.name; });
    setText(row.viewing, viewers.length ? "Viewing: " + viewers.join(", ") : "");
    setText(row.preview, data.last_message || "");
    row.preview.title = data.last_message || "";
    row.element.classList.toggle("row-viewed", paneOf(data.session_id) !== null);
    applyFilters(row);
    drawClocks(row, Date.now() + clockOffset);
  }

  /* ---- clocks: counted here, from the server's timestamps ---- */

  function duration(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m " + pad(seconds % 60) + "s";
    return Math.floor(seconds / 3600) + "h " + pad(Math.floor(seconds % 3600 / 60)) + "m";
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function at(iso) { return iso ? new Date(iso).getTime() : null; }

  function setText(element, text) { if (element.textContent !== text) element.textContent = text; }

  function countdown(element, deadline, now) {
    if (deadline === null) { setText(element, "—"); element.dataset.due = "false"; return; }
    var left = deadline - now;
    setText(element, left > 0 ? duration(left) : "due");
    element.dataset.due = left <= 0 ? "true" : left < 5 * 60000 ? "soon" : "false";
  }

  /* Abandonment: the inactivity rule, and the silent-visitor rule while the visitor is offline;
     neither applies to a chat an agent holds. */
  function abandonDeadline(data) {
    if (!data.is_queued) return null;
    var deadlines = [at(data.abandon_inactive_at)];
    if (!data.visitor_online) deadlines.push(at(data.abandon_silent_at));
    deadlines = deadlines.filter(function (deadline) { return deadline !== null; });
    return deadlines.length ? Math.min.apply(null, deadlines) : null;
  }

  function drawClocks(row, now) {
    var data = row.data;
    setText(row.cells.waiting, data.is_queued ? duration(now - at(waitingSince(data))) : "—");
    setText(row.since, data.last_message_at ? duration(now - at(data.last_message_at)) + " ago" : "no messages");
    countdown(row.cells.abandon, abandonDeadline(data), now);
    countdown(row.cells.expiry, at(data.expires_at), now);
  }

  function tick() {
    var now = Date.now() + clockOffset;
    for (var id in rows) if (!rows[id].element.hidden) drawClocks(rows[id], now);
    var changed = false;
    for (var agentId in team) {
      var member = team[agentId];
      if (member.presence === "away" && at(member.away_until) <= now) { member.presence = "offline"; changed = true; }
    }
    if (changed) drawTeam();
  }
  setInterval(tick, 1000);

  /* ---- filters ---- */

  function applyFilters(row) {
    var status = statusFilter.value;
    var agent = agentFilter.value;
    var data = row.data;
    var shown = (!status || data.status === status)
      && (!agent || (agent === "none" ? !data.agent_id : String(data.agent_id) === agent));
    row.element.hidden = !shown;
  }

  function applyAllFilters() {
    for (var id in rows) applyFilters(rows[id]);
    afterChange();
  }
  statusFilter.addEventListener("change", applyAllFilters);
  agentFilter.addEventListener("change", applyAllFilters);

  function afterChange() {
    var total = Object.keys(rows).length;
    var shown = rowsBody.querySelectorAll("tr:not([hidden])").length;
    chatCount.textContent = shown === total ? total : shown + " of " + total;
    noChats.hidden = shown > 0;
    drawTeam();
  }

  /* ---- the team ---- */

  function heldBy(agentId) {
    var count = 0;
    for (var id in rows) if (rows[id].data.status === "active" && rows[id].data.agent_id === agentId) count++;
    return count;
  }

  var teamTimer = null;
  function drawTeam() {
    clearTimeout(teamTimer);          // many rows changing at once draw the team once
    teamTimer = setTimeout(drawTeamNow, 50);
  }

  function drawTeamNow() {
    var members = teamMembers();
    var items = members.map(function (member) {
      var item = document.createElement("li");
      item.className = "team-member";
      item.dataset.agentId = member.agent_id;
      item.dataset.presence = member.presence;
      var name = document.createElement("span");
      name.className = "team-name";
      name.textContent = member.name;
      var role = document.createElement("small");
      role.className = "muted";
      role.textContent = member.role;
      var state = document.createElement("span");
      state.className = "team-presence";
      state.textContent = member.presence;
      var load = document.createElement("span");
      load.className = "team-load";
      var held = heldBy(member.agent_id);
      load.textContent = held + " / " + member.max_chats + " chats";
      load.dataset.full = held >= member.max_chats ? "true" : "false";
      item.append(name, " ", role, state, load);
      return item;
    });
    teamList.replaceChildren.apply(teamList, items);
    fillAgentFilter(members);
    panes.forEach(function (pane) { pane.showControls(); });
  }

  function teamMembers() {
    return Object.keys(team).map(function (id) { return team[id]; })
      .sort(function (a, b) { return a.name.localeCompare(b.name); });
  }

  function fillAgentFilter(members) {
    var chosen = agentFilter.value;
    while (agentFilter.options.length > 2) agentFilter.remove(2);
    members.forEach(function (member) {
      var option = document.createElement("option");
      option.value = String(member.agent_id);
      option.textContent = member.name;
      agentFilter.appendChild(option);
    });
    agentFilter.value = chosen;
    if (agentFilter.selectedIndex < 0) agentFilter.selectedIndex = 0;
  }

  /* ---- panes ---- */

  function paneOf(sessionId) {
    for (var i = 0; i < panes.length; i++) if (panes[i].sessionId === sessionId) return panes[i];
    return null;
  }

  function paneUpdate(data) {
    var pane = paneOf(data.session_id);
    if (pane) pane.update(data);
  }

  /* A fourth chat takes the place of the one opened longest ago. */
  function openPane(sessionId) {
    var existing = paneOf(sessionId);
    if (existing) { existing.element.scrollIntoView({block: "nearest"}); return; }
    var row = rows[sessionId];
    if (!row) return;
    var replaced = null;
    if (panes.length >= MAX_PANES) { replaced = panes[0]; replaced.close(); }
    var pane = new ChatPane(panesBox, {
      socket: socket, template: paneTemplate, me: me, row: JSON.parse(JSON.stringify(row.data)),
      maxLength: Number(root.dataset.maxLength), teamMembers: teamMembers,
      onClose: function (closed) {
        panes = panes.filter(function (other) { return other !== closed; });
        noPanes.hidden = panes.length > 0;
        if (rows[closed.sessionId]) drawRow(rows[closed.sessionId]);
      }
    });
    panes.push(pane);
    noPanes.hidden = true;
    drawRow(row);
    if (replaced) pane.notice("Three chats fit side by side: " + replaced.row.visitor_name + " was closed to make room.");
    pane.element.scrollIntoView({block: "nearest"});
  }

  rowsBody.addEventListener("click", function (event) {
    var element = event.target.closest("tr[data-session-id]");
    if (element) openPane(element.dataset.sessionId);
  });
  rowsBody.addEventListener("keydown", function (event) {
    var element = event.target.closest("tr[data-session-id]");
    if (element && event.key === "Enter") { event.preventDefault(); openPane(element.dataset.sessionId); }
  });

  function toPane(event) {
    return function (data) {
      var pane = data && paneOf(data.session_id);
      if (pane) pane.receive(event, data);
    };
  }

  /* ---- live events ---- */

  loadOverview();
  socket.on("connect", function () {
    if (!root.dataset.connectedAt) root.dataset.connectedAt = Math.round(performance.now());   // read by bin/bench
    loadOverview();
    panes.forEach(function (pane) { pane.watch(); });
  });
  socket.on("connect_error", function (error) {
    if (error && error.data && error.data.code === "login_required") window.location.href = "/login?ended=1";
  });
  socket.on("disconnect", function (reason) {
    if (reason === "io server disconnect") socket.connect();
  });
  /* A chat's new status (an overview row) or, for a waiting chat, a message (a preview). */
  socket.on("queue_update", function (update) {
    if ("visitor_name" in update) { upsertRow(update); afterChange(); }
    else if ("last_message" in update) updatePreview(update);
  });
  socket.on("chat_activity", updatePreview);
  socket.on("team_update", function (member) { team[member.agent_id] = member; drawTeam(); });
  socket.on("presence", function (event) {
    if (event && event.session_id) { updatePresence(event); toPane("presence")(event); }
  });
  socket.on("message", toPane("message"));
  socket.on("typing", toPane("typing"));
  socket.on("message_delivery", toPane("message_delivery"));
  socket.on("viewers", function (event) {
    var row = rows[event.session_id];
    if (row) { row.data.viewers = event.viewers || []; heard(row, "viewers"); drawRow(row); }
    toPane("viewers")(event);
  });
  socket.on("session_status", toPane("session_status"));
  socket.on("error", function (error) {
    if (error && error.code === "login_required") window.location.href = "/login?ended=1";
    else if (error && error.code !== "invalid_payload") showError(error.message);
  });
})();
