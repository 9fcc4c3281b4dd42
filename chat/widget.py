"""The widget: its loader script, the frame page it opens, and the demo host page; and the
app's icon, which browsers fetch from /favicon.ico."""
import re

from flask import (
    Blueprint, abort, current_app, make_response, render_template, request, send_from_directory,
)

from . import visitor_identity
from .bot import hours as business_hours
from .extensions import db
from .models import Site
from .realtime import presence
from .security import content_security_policy, frame_ancestors_for

bp = Blueprint("widget", __name__)
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
POSITIONS = ("bottom-right", "bottom-left")


@bp.get("/widget.js")
def loader():
    """The one script a website embeds; it draws the launcher and the frame.
    See docs/protocol.md, `/widget.js`."""
    response = send_from_directory(current_app.static_folder, "widget.js", max_age=300)
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public script, no credentials
    return response


@bp.get("/favicon.ico")
def favicon():
    """The app's icon (a blue speech bubble), linked by every page and the widget frame."""
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=86400)


@bp.get("/widget/frame")
def frame():
    """The conversation itself, in the app's own origin: the host page cannot read it.
    See docs/protocol.md, `/widget/frame`."""
    site = db.session.execute(
        db.select(Site).filter_by(key=request.args.get("site", "")[:64])
    ).scalar_one_or_none()
    if site is None:
        abort(404)
    color = request.args.get("color", "")
    color = color if COLOR_PATTERN.match(color) else site.color
    response = make_response(render_template("widget/frame.html", site=site, color=color,
                                              availability=availability(site)))
    response.headers["Content-Security-Policy"] = content_security_policy(frame_ancestors_for(site))
    return response


def availability(site):
    """What a visitor reads before starting a chat: whether the team is there to answer (within
    the site's business hours, someone online)."""
    hours = business_hours.hours_of(site)
    if not business_hours.is_open(hours):
        return f"We're closed now; our hours are {business_hours.describe(hours)}"
    if presence.agents_online(site.id):
        return "We typically reply in a few minutes"
    return "We're away right now; leave a message and we'll reply"


@bp.get("/demo")
def demo():
    """A host page with the widget embedded by its one script tag. See docs/protocol.md, `/demo`."""
    position = request.args.get("position")
    return render_template("demo.html", position=position if position in POSITIONS else None,
                           customer=demo_customer())


DEMO_CUSTOMER = {"id": "demo-customer-kim", "name": "Kim Park", "email": "kim@example.com"}


def demo_customer():
    """In development, a logged-in customer of the demo shop for `ChatWidget.setUser`, signed here
    as a site's own server would sign it (with the demo site's identity secret)."""
    if current_app.config["CHAT_ENV"] != "development":
        return None
    site = db.session.execute(db.select(Site).filter_by(key="demo")).scalar_one_or_none()
    if site is None:
        return None
    return {**DEMO_CUSTOMER, "hash": visitor_identity.user_hash(site, DEMO_CUSTOMER["id"])}
