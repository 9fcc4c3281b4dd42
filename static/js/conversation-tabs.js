/* The widget's conversations as tabs (seed 003): a tab per conversation with its title and
 * unread replies, × to close it, a pencil on the open one to rename it, and "+" for a new one.
 * It draws what it is given and says what the visitor asked for; the frame does the rest.
 *
 * options: onSelect(id), onClose(conversation), onRename(id, title), onNew(). */
(function (global) {
  "use strict";

  function ConversationTabs(bar, options) {
    this.bar = bar;
    this.options = options;
    this.list = [];
    this.activeId = null;
    this.renaming = null;       // the id whose title is being edited
    var self = this;
    bar.addEventListener("click", function (event) {
      var tab = event.target.closest("[data-conversation]");
      if (event.target.closest(".tab-new")) { self.options.onNew(); return; }
      if (!tab) return;
      var id = tab.dataset.conversation;
      if (event.target.closest(".tab-close")) self.options.onClose(self.find(id));
      else if (event.target.closest(".tab-rename")) self.startRename(id);
      else if (event.target.closest(".tab-title") && id !== self.activeId) self.options.onSelect(id);
    });
  }

  ConversationTabs.prototype.find = function (id) {
    for (var i = 0; i < this.list.length; i++) if (this.list[i].id === id) return this.list[i];
    return null;
  };

  /* The conversations as the server listed them; `activeId` the one on screen (never unread). */
  ConversationTabs.prototype.show = function (list, activeId) {
    this.list = list.slice();
    if (activeId !== undefined) this.activeId = activeId;
    this.draw();
  };

  ConversationTabs.prototype.setActive = function (id) {
    this.activeId = id;
    this.draw();
  };

  /* One conversation changed (renamed, closed, a title from its first message). */
  ConversationTabs.prototype.update = function (conversation) {
    var found = false;
    this.list = this.list.map(function (item) {
      if (item.id !== conversation.id) return item;
      found = true;
      return conversation;
    });
    if (!found) this.list.unshift(conversation);
    this.draw();
  };

  ConversationTabs.prototype.remove = function (id) {
    this.list = this.list.filter(function (item) { return item.id !== id; });
    if (this.activeId === id) this.activeId = null;
    this.draw();
  };

  ConversationTabs.prototype.unreadElsewhere = function () {
    var activeId = this.activeId;
    return this.list.reduce(function (sum, item) { return sum + (item.id === activeId ? 0 : item.unread); }, 0);
  };

  ConversationTabs.prototype.draw = function () {
    if (this.renaming) return;          // drawn again once the new title is saved or dropped
    var bar = this.bar;
    bar.textContent = "";
    var strip = document.createElement("div");
    strip.className = "tab-strip";
    strip.setAttribute("role", "tablist");
    strip.setAttribute("aria-label", "Your conversations");
    this.list.forEach(function (conversation) { strip.appendChild(this.tab(conversation)); }, this);
    var add = document.createElement("button");
    add.type = "button";
    add.className = "tab-new";
    add.textContent = "+";
    add.title = "New conversation";
    add.setAttribute("aria-label", "New conversation");
    bar.append(strip, add);
    bar.hidden = this.list.length === 0;
    var active = strip.querySelector(".conversation-tab.active");
    if (active && active.scrollIntoView) active.scrollIntoView({block: "nearest", inline: "nearest"});
  };

  ConversationTabs.prototype.tab = function (conversation) {
    var active = conversation.id === this.activeId;
    var tab = document.createElement("div");
    tab.className = "conversation-tab" + (active ? " active" : "") + (conversation.is_open ? "" : " ended");
    tab.dataset.conversation = conversation.id;
    var title = document.createElement("button");
    title.type = "button";
    title.className = "tab-title";
    title.setAttribute("role", "tab");
    title.setAttribute("aria-selected", active ? "true" : "false");
    title.title = conversation.title + (conversation.is_open ? "" : " (ended)");
    var text = document.createElement("span");
    text.className = "tab-text";
    text.textContent = conversation.title;
    title.appendChild(text);
    var unread = active ? 0 : conversation.unread;
    if (unread) {
      var badge = document.createElement("span");
      badge.className = "tab-unread";
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.setAttribute("aria-label", unread + " unread");
      title.appendChild(badge);
    }
    tab.appendChild(title);
    if (active) tab.appendChild(iconButton("tab-rename", "✎", "Rename conversation"));
    tab.appendChild(iconButton("tab-close", "×", "Close conversation " + conversation.title));
    return tab;
  };

  function iconButton(className, symbol, label) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = symbol;
    button.title = label;
    button.setAttribute("aria-label", label);
    return button;
  }

  /* The open tab's title becomes a field: Enter or leaving it saves, Escape keeps the old one. */
  ConversationTabs.prototype.startRename = function (id) {
    var conversation = this.find(id);
    var tab = this.bar.querySelector('[data-conversation="' + CSS.escape(id) + '"]');
    if (!conversation || !tab) return;
    this.renaming = id;
    var self = this;
    var field = document.createElement("input");
    field.className = "tab-rename-field";
    field.maxLength = 80;
    field.value = conversation.title;
    field.setAttribute("aria-label", "Conversation title");
    tab.textContent = "";
    tab.appendChild(field);
    field.focus();
    field.select();
    var done = false;
    function finish(save) {
      if (done) return;
      done = true;
      self.renaming = null;
      var title = field.value.trim();
      if (save && title && title !== conversation.title) self.options.onRename(id, title);
      self.draw();
    }
    field.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); finish(false); }
    });
    field.addEventListener("blur", function () { finish(true); });
  };

  global.ConversationTabs = ConversationTabs;
})(window);
