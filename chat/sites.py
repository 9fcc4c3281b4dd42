"""Sites: the websites that embed the widget, their keys and the origins they may use it from.

An origin is stored exactly as a browser sends it in its `Origin` header, so checks are plain
string comparisons (chat/origins.py): `scheme://host[:port]`, http or https, scheme and host in
lower case, an international host in its ASCII (punycode) form, the default port (80 for http,
443 for https) left out because browsers never send it. The word `self` stands for the app's
own origin, wherever it is served."""
import ipaddress
import json
import re
import secrets
from urllib.parse import urlsplit

from markupsafe import escape

from . import knowledge, queue
from .bot import hours as business_hours
from .bot import menu
from .errors import ChatError
from .extensions import db
from .models import ATTACHMENT_CATEGORIES, SITE_ROUTINGS, Agent, Site, agent_site
from .origins import forget_site_origins
from .realtime.disconnect import disconnect_agent_sockets
from .validation import invalid
from .widget import COLOR_PATTERN, POSITIONS

SELF = "self"
DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
KEY_BYTES = 12                      # 16 characters: public, only needs to be unique
MAX_NAME_LENGTH = 120               # Site.name
MAX_GREETING_LENGTH = 500           # Site.greeting
DEFAULT_COLOR = "#2563eb"           # Site.color's default, the launcher's own


def normalise_origin(text):
    """`text` as an origin in the stored form, or ChatError with a sentence saying what to write."""
    text = (text or "").strip()
    refusal = invalid(f"{text or 'An empty value'} is not an origin: use scheme://host[:port], "
                      "e.g. https://shop.example")
    if any(char in "?#\\" or char.isspace() for char in text):
        raise refusal
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise refusal from None
    scheme = parts.scheme.lower()
    host = ascii_host(parts.hostname)
    # A lone trailing slash, as an address bar shows it, is accepted and dropped.
    if (scheme not in DEFAULT_PORTS or host is None or parts.path not in ("", "/")
            or "@" in parts.netloc or port == 0 or ("[" in parts.netloc) != host.startswith("[")):
        raise refusal
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def ascii_host(hostname):
    """A host name or IP address as a browser writes it in an origin; None when it is not one."""
    if not hostname:
        return None
    if ":" in hostname:
        if "%" in hostname:         # a zone id: no browser sends one
            return None
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:
            return None
    try:
        hostname = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = hostname.split(".")
    if not all(HOST_LABEL.match(label) for label in labels):
        return None
    return hostname


def origin_entry(text):
    """An entry of a site's list: `self`, or an origin in its stored form."""
    return SELF if text.strip().lower() == SELF else normalise_origin(text)


def site_with_key(key):
    site = db.session.execute(db.select(Site).filter_by(key=key)).scalar_one_or_none()
    if site is None:
        raise ChatError("site_not_found", f"No site has the key {key}.")
    return site


def new_key():
    """A random key no site has; never starting with "-", so it reads as an argument on a command line."""
    while True:
        key = secrets.token_urlsafe(KEY_BYTES)
        if not key.startswith("-") and db.session.execute(
                db.select(Site.id).filter_by(key=key)).first() is None:
            return key


def checked_attachment_types(categories):
    """The kinds of files a site takes (models.ATTACHMENT_CATEGORIES), in their usual order;
    None leaves them as they are."""
    if categories is None:
        return None
    unknown = [category for category in categories if category not in ATTACHMENT_CATEGORIES]
    if unknown:
        raise invalid(f"{unknown[0]} is not a kind of file: choose from {', '.join(ATTACHMENT_CATEGORIES)}.")
    return " ".join(category for category in ATTACHMENT_CATEGORIES if category in categories)


def checked_settings(name, origins, greeting, color, position, routing=None):
    """A site's settings, each checked (ChatError with a sentence on the first bad one)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise invalid(f"A site's name is 1 to {MAX_NAME_LENGTH} characters.")
    greeting = (greeting or "").strip() or None
    if greeting is not None and len(greeting) > MAX_GREETING_LENGTH:
        raise invalid(f"A greeting is at most {MAX_GREETING_LENGTH} characters.")
    color = (color or "").strip() or None
    if color is not None and not COLOR_PATTERN.match(color):
        raise invalid(f"{color} is not a colour: use #rrggbb, e.g. #2563eb.")
    if position is not None and position not in POSITIONS:
        raise invalid("The launcher sits bottom-right or bottom-left.")
    if routing is not None and routing not in SITE_ROUTINGS:
        raise invalid("Chats are routed manual (agents accept them) or auto (given to the least busy agent).")
    entries = unique(origin_entry(text) for text in origins if text.strip())
    if not entries:
        raise invalid("List at least one origin the chat may be embedded on, e.g. https://shop.example")
    return name, entries, greeting, color and color.lower(), position, routing


def create_site(name, origins, greeting=None, color=None, position=None, routing=None, attachment_types=None):
    """A new site with a fresh key, allowed on `origins` (each checked; nothing is written
    when one is refused). Every agent of the team answers it, as a new agent answers every
    site that exists (`flask chat create-agent --site` narrows an agent's sites)."""
    name, entries, greeting, color, position, routing = checked_settings(
        name, origins, greeting, color, position, routing)
    attachment_types = checked_attachment_types(attachment_types)
    site = Site(key=new_key(), name=name, allowed_origins=" ".join(entries))
    apply_settings(site, greeting, color, position, routing, attachment_types)
    db.session.add(site)
    db.session.flush()
    team = db.session.execute(db.select(Agent.id)).scalars().all()
    if team:
        db.session.execute(agent_site.insert(), [{"agent_id": agent_id, "site_id": site.id} for agent_id in team])
    db.session.commit()
    forget_site_origins()
    for agent_id in team:
        # An open dashboard joined its sites' rooms at connect: it reconnects at once and
        # joins the new site's too (its login is unchanged).
        disconnect_agent_sockets(agent_id)
    return site


def update_site(site, name, origins, greeting=None, color=None, position=None, routing=None,
                attachment_types=None):
    """New settings for a site; the list of origins replaces the old one. Nothing is written
    when one setting is refused. Turning auto-assignment on offers the waiting chats at once."""
    name, entries, greeting, color, position, routing = checked_settings(
        name, origins, greeting, color, position, routing)
    attachment_types = checked_attachment_types(attachment_types)
    site.name, site.allowed_origins = name, " ".join(entries)
    apply_settings(site, greeting, color, position, routing, attachment_types)
    db.session.commit()
    forget_site_origins()
    queue.offer_waiting([site.id])
    return site


def apply_settings(site, greeting, color, position, routing=None, attachment_types=None):
    if greeting:
        site.greeting = greeting
    if color:
        site.color = color
    if position:
        site.position = position
    if routing:
        site.routing = routing
    if attachment_types is not None:
        site.attachment_types = attachment_types


def update_bot(site, enabled, menu_json, hours):
    """The site's bot: on or off, its menu (JSON, checked against the site's articles; empty
    for the default menu) and its business hours (bot/hours.checked's fields, or None for
    always open). Nothing is written when one is refused."""
    menu_json = (menu_json or "").strip()
    if menu_json:
        parsed = menu.parse(menu_json, [article.title for article in knowledge.articles_of(site.id)])
        menu_json = json.dumps(parsed, ensure_ascii=False, indent=2)
    checked_hours = business_hours.checked(**hours) if hours is not None else None
    site.bot_enabled = bool(enabled)
    site.bot_menu = menu_json or None
    site.business_hours = json.dumps(checked_hours) if checked_hours else None
    db.session.commit()
    return site


def new_identity_secret(site):
    """A new secret for verified user ids: every hash made with the old one stops working."""
    site.identity_secret = secrets.token_hex(32)
    db.session.commit()
    return site


def change_origins(site, add=(), remove=()):
    """Remove, then add origins; the resulting list. Removing one the site does not list is
    refused (a typo would otherwise look like success); adding one it lists changes nothing."""
    current = site.origin_list
    removed = set()
    for text in remove:
        entry = text.strip() if text.strip() in current else origin_entry(text)
        if entry not in current:
            raise invalid(f"{entry} is not one of the origins of site {site.key}.")
        removed.add(entry)
    added = [origin_entry(text) for text in add]
    site.allowed_origins = " ".join(unique([*(o for o in current if o not in removed), *added]))
    db.session.commit()
    forget_site_origins()
    return site.origin_list


def unique(entries):
    return list(dict.fromkeys(entries))


def embed_snippet(site, app_origin):
    """The one tag a page needs to show the widget (the form README.md shows), with the
    launcher's colour and corner when the site's differ from the defaults."""
    extra = ""
    if site.color and site.color.lower() != DEFAULT_COLOR:
        extra += f' data-color="{escape(site.color)}"'
    if site.position and site.position != POSITIONS[0]:
        extra += f' data-position="{escape(site.position)}"'
    return (f'<script src="{escape(app_origin.rstrip("/"))}/widget.js" '
            f'data-site="{escape(site.key)}"{extra} async></script>')
