"""The admin pages (role admin): the team, the sites (their WhatsApp and LINE accounts in
`channel_views`) and the shared canned replies. Views translate; the rules are in `team`,
`sites`, `canned`, `channels.accounts` and `access`."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import access, attachments, canned, knowledge, sites, team
from .errors import ChatError, refused_page
from .extensions import db
from .models import AGENT_ROLES, MAX_CHATS_LIMIT, SITE_ROUTINGS, Agent, Site
from .origins import own_origin
from .bot import hours as business_hours
from .channels import accounts as channel_accounts
from .widget import POSITIONS

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_context_processor
def admin_link():
    """Pages show the Admin link to those who may use it."""
    return {"may_administer": current_user.is_authenticated and access.administers(current_user)}


@bp.before_request
@login_required
def admins_only():
    if not access.administers(current_user):
        return refused_page("Admins only", "Only an admin may manage the team, the sites and the shared replies.")
    return None


def team_page(status=200, **shown):
    agents = db.session.execute(db.select(Agent).order_by(Agent.display_name)).scalars().all()
    return render_template("admin/team.html", agents=agents, roles=AGENT_ROLES, max_chats_limit=MAX_CHATS_LIMIT,
                           **shown), status


def agent_or_404(agent_id):
    agent = db.session.get(Agent, agent_id)
    if agent is None:
        abort(404)
    return agent


@bp.get("/")
def index():
    return redirect(url_for("admin.team_list"))


@bp.get("/team")
def team_list():
    """Every agent: name, email, role, status; add one. See docs/protocol.md, HTTP: pages."""
    return team_page()


@bp.post("/team")
def invite():
    """A new agent with a temporary password, shown once on the answer."""
    form = request.form
    try:
        agent, password = team.invite(form.get("email"), form.get("display_name"), form.get("role", "agent"))
    except ChatError as error:
        return team_page(400, error=error.message, draft=form)
    return team_page(temporary=(agent, password))


@bp.post("/team/<id:agent_id>")
def change(agent_id):
    agent = agent_or_404(agent_id)
    try:
        team.change(agent, request.form.get("display_name"), request.form.get("role"), by=current_user,
                    max_chats=request.form.get("max_chats"))
    except ChatError as error:
        db.session.rollback()
        return team_page(400, error=error.message)
    flash(f"{agent.display_name} is saved.")
    return redirect(url_for("admin.team_list"))


@bp.post("/team/<id:agent_id>/disable")
def disable(agent_id):
    agent = agent_or_404(agent_id)
    try:
        team.disable(agent, by=current_user)
    except ChatError as error:
        return team_page(400, error=error.message)
    flash(f"{agent.display_name} is disabled: logged out everywhere; its chats are back in the queue.")
    return redirect(url_for("admin.team_list"))


@bp.post("/team/<id:agent_id>/enable")
def enable(agent_id):
    agent = agent_or_404(agent_id)
    team.enable(agent)
    flash(f"{agent.display_name} can log in again.")
    return redirect(url_for("admin.team_list"))


@bp.post("/team/<id:agent_id>/password")
def reset_password(agent_id):
    agent = agent_or_404(agent_id)
    return team_page(temporary=(agent, team.reset_password(agent)))


# ---- sites ----

def site_form_values(form):
    return dict(name=form.get("name"), origins=(form.get("origins") or "").splitlines(),
                greeting=form.get("greeting"), color=form.get("color"), position=form.get("position"),
                routing=form.get("routing"),
                # The form says which kinds of file it showed: none ticked is "no files".
                attachment_types=form.getlist("attachment_types") if form.get("attachment_types_shown") else None)


def site_or_404(key):
    try:
        return sites.site_with_key(key)
    except ChatError:
        abort(404)


def sites_page(status=200, **shown):
    listed = db.session.execute(db.select(Site).order_by(Site.name)).scalars().all()
    return render_template("admin/sites.html", sites=listed, positions=POSITIONS, routings=SITE_ROUTINGS,
                           attachment_categories=attachments.CATEGORY_WORDS,
                           app_origin=own_origin(),
                           snippet=sites.embed_snippet, **shown), status


@bp.get("/sites")
def site_list():
    """Every site with its embed snippet; add one. See docs/protocol.md, HTTP: pages."""
    return sites_page()


@bp.post("/sites")
def add_site():
    try:
        site = sites.create_site(**site_form_values(request.form))
    except ChatError as error:
        db.session.rollback()
        return sites_page(400, error=error.message, draft=request.form)
    flash(f"{site.name} is ready: paste its snippet into your pages.")
    return redirect(url_for("admin.edit_site", key=site.key))


def site_page(site, status=200, **shown):
    """One site's page: its embed tag, its settings and its bot (`shown`: an error and what was typed)."""
    return render_template("admin/site.html", site=site, positions=POSITIONS, routings=SITE_ROUTINGS,
                           attachment_categories=attachments.CATEGORY_WORDS,
                           snippet=sites.embed_snippet(site, own_origin()), days=business_hours.DAY_NAMES,
                           hours=business_hours.hours_of(site),
                           channels=channel_accounts.summaries(site, own_origin()), **shown), status


@bp.get("/sites/<key>")
def edit_site(key):
    """One site: its embed tag with a copy button, its settings and its bot."""
    return site_page(site_or_404(key))


@bp.post("/sites/<key>")
def save_site(key):
    site = site_or_404(key)
    try:
        sites.update_site(site, **site_form_values(request.form))
    except ChatError as error:
        db.session.rollback()
        return site_page(site, 400, error=error.message, draft=request.form)
    flash(f"{site.name} is saved.")
    return redirect(url_for("admin.edit_site", key=site.key))


def bot_form_values(form):
    always_open = form.get("always_open") == "1"
    hours = None if always_open else dict(time_zone=form.get("time_zone"), days=form.getlist("days"),
                                          opens=form.get("opens"), closes=form.get("closes"))
    return dict(enabled=form.get("bot_enabled") == "1", menu_json=form.get("bot_menu"), hours=hours)


@bp.post("/sites/<key>/bot")
def save_bot(key):
    """The site's bot: on or off, its menu and the business hours."""
    site = site_or_404(key)
    try:
        sites.update_bot(site, **bot_form_values(request.form))
    except ChatError as error:
        db.session.rollback()
        return site_page(site, 400, bot_error=error.message, bot_draft=request.form)
    flash(f"{site.name}'s bot is {'on' if site.bot_enabled else 'off'} and saved.")
    return redirect(url_for("admin.edit_site", key=site.key) + "#bot")


@bp.post("/sites/<key>/identity-secret")
def new_identity_secret(key):
    """A new identity secret (the old one leaked, or its holder left)."""
    site = sites.new_identity_secret(site_or_404(key))
    flash(f"{site.name} has a new identity secret: update it on your server, where the user hashes are made.")
    return redirect(url_for("admin.edit_site", key=site.key) + "#identity")


@bp.get("/unanswered")
def unanswered():
    """The questions the knowledge base had no answer for, newest first: articles to write."""
    return render_template("admin/unanswered.html", questions=knowledge.unanswered_questions())


# ---- shared canned replies ----

def canned_page(status=200, **shown):
    return render_template("admin/canned.html", replies=canned.replies_of(None), **shown), status


@bp.get("/canned")
def canned_list():
    """The team's shared canned replies; add, change or delete one. See docs/protocol.md, HTTP: pages."""
    return canned_page()


@bp.post("/canned")
def add_canned():
    try:
        reply = canned.create(None, request.form.get("shortcut"), request.form.get("text"))
    except ChatError as error:
        return canned_page(400, error=error.message, draft=request.form)
    flash(f"/{reply.shortcut} is saved and shared with the team.")
    return redirect(url_for("admin.canned_list"))


@bp.post("/canned/<id:reply_id>")
def save_canned(reply_id):
    reply = canned.manageable(current_user, reply_id, shared=True) or abort(404)
    try:
        canned.update(reply, request.form.get("shortcut"), request.form.get("text"))
    except ChatError as error:
        return canned_page(400, error=error.message, editing=reply.id, draft=request.form)
    flash(f"/{reply.shortcut} is saved.")
    return redirect(url_for("admin.canned_list"))


@bp.post("/canned/<id:reply_id>/delete")
def delete_canned(reply_id):
    reply = canned.manageable(current_user, reply_id, shared=True) or abort(404)
    canned.delete(reply)
    flash(f"/{reply.shortcut} is deleted.")
    return redirect(url_for("admin.canned_list"))


from . import admin_articles  # noqa: E402,F401  (the knowledge base's pages, on this blueprint)
from . import channel_views  # noqa: E402,F401  (a site's WhatsApp and LINE accounts, on this blueprint)
