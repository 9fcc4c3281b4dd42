"""`flask chat ...`: commands for the people who run the product."""
import time
from datetime import datetime

import click
from flask import Blueprint, current_app
from sqlalchemy import select

from . import access, demo_data, knowledge, sessions, sites, validation
from .errors import ChatError
from .canned import create as create_canned_reply
from .channels import accounts as channel_accounts
from .extensions import db
from .jobs import run_jobs
from .models import AGENT_ROLES, CHANNEL_PROVIDERS, CHANNEL_TITLES, SESSION_STATUSES, SITE_ROUTINGS, Agent, ChatSession, Site
from .realtime.disconnect import disconnect_agent_sockets

bp = Blueprint("chat_cli", __name__, cli_group="chat")

DEMO_PASSWORD = "demo-password"
DEMO_AGENTS = (
    ("demo@example.com", "Demo Agent", "agent"),
    ("supervisor@example.com", "Demo Supervisor", "supervisor"),
    ("admin@example.com", "Demo Admin", "admin"),
)
# (owner's email or None for shared, shortcut, text): canned replies a new team can try at once.
DEMO_CANNED = (
    (None, "hello", "Hi {{visitor.name}}, I'm {{agent.name}}. How can I help you today?"),
    (None, "shipping-times", "Good question, {{visitor.name}}: orders ship within one business day, "
                             "and delivery takes 2 to 5 business days. You'll get a tracking link by email."),
    (None, "anything-else", "Is there anything else I can help you with?"),
    ("demo@example.com", "thanks", "Thanks for waiting, {{visitor.name}}; I'm back with an answer."),
)


def save_agent(email, name, role, password, sites=None):
    """Create the agent, or update name, role and password if the email exists. `sites`
    are the sites whose visitors the agent answers; a new agent given none answers every
    site that exists now (not those added later); an existing one keeps its sites. A reset
    ends every login of the agent: cookies are refused and open sockets closed."""
    email = email.strip().lower()
    agent = db.session.execute(select(Agent).filter_by(email=email)).scalar_one_or_none()
    if agent is None:
        if sites is None:
            sites = db.session.execute(select(Site).order_by(Site.id)).scalars().all()
        agent = Agent(email=email)
        db.session.add(agent)
    elif logins_must_end(agent, role, password, sites):
        agent.revoke_logins()
    if sites is not None:
        agent.sites = list(sites)
    agent.display_name = name
    agent.role = role
    agent.active = True
    agent.set_password(password)
    db.session.commit()
    disconnect_agent_sockets(agent.id)
    return agent


def logins_must_end(agent, role, password, sites):
    """A new password, role or set of sites, or enabling the agent again, ends its logins;
    saving the same again (seed-demo at every start) does not."""
    return (role != agent.role or not agent.active or not agent.check_password(password)
            or (sites is not None and set(sites) != set(agent.sites)))


def email_address(_context, _param, text):
    """The option as an email address (checked like a visitor's), before any password prompt."""
    try:
        address = validation.visitor_email({"email": text})
    except ChatError:
        address = None
    if address is None:
        raise click.BadParameter(f"{text} is not an email address")
    return address


@bp.cli.command("create-agent")
@click.option("--email", required=True, callback=email_address, help="Login email.")
@click.option("--name", required=True, help="Name shown to visitors.")
@click.option("--role", type=click.Choice(AGENT_ROLES), default="agent", show_default=True)
@click.option("--site", "site_keys", multiple=True, metavar="KEY",
              help="A site whose visitors the agent answers (repeat for several). "
                   "Default for a new agent: every site that exists now.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
def create_agent(email, name, role, site_keys, password):
    """Create an agent (or reset an existing agent's name, role, sites and password)."""
    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    sites = None
    if site_keys:
        sites = db.session.execute(select(Site).where(Site.key.in_(site_keys))).scalars().all()
        unknown = sorted(set(site_keys) - {site.key for site in sites})
        if unknown:
            raise click.BadParameter(f"no site has the key {', '.join(unknown)}", param_hint="--site")
    agent = save_agent(email, name, role, password, sites)
    if access.supervises(agent):
        scope = "every site"
    else:
        scope = ", ".join(site.key for site in agent.sites) or "no site yet"
    click.echo(f"Agent {agent.email} ({agent.role}) is ready; answers {scope}.")


@bp.cli.command("disable-agent")
@click.option("--email", required=True, help="The agent's login email.")
def disable_agent(email):
    """Stop an agent from logging in; its open dashboards close at once with a message queue
    (SOCKETIO_MESSAGE_QUEUE), otherwise at their next event or within one job tick; its
    chats go back to the queue.
    (`create-agent` with the same email enables it again.)"""
    agent = db.session.execute(select(Agent).filter_by(email=email.strip().lower())).scalar_one_or_none()
    if agent is None:
        raise click.BadParameter("no agent has this email", param_hint="--email")
    agent.active = False
    agent.revoke_logins()
    db.session.commit()
    disconnect_agent_sockets(agent.id)
    returned = sessions.return_to_queue(ChatSession.agent_id == agent.id, "disabled")
    click.echo(f"Agent {agent.email} is disabled; {len(returned)} of its chats are back in the queue.")


@bp.cli.command("seed-demo")
def seed_demo():
    """Create the demo site (key `demo`), the demo agent, supervisor and admin, a few canned
    replies with the new site (shared ones and one of the demo agent's), past conversations and
    help articles when the site has none; safe to rerun."""
    site = db.session.execute(select(Site).filter_by(key="demo")).scalar_one_or_none()
    new = site is None
    if new:
        site = Site(key="demo", name="Demo site", allowed_origins="self", bot_enabled=True)
        db.session.add(site)
    if "self" not in site.origin_list:
        site.allowed_origins = " ".join(["self", *site.origin_list])
    db.session.commit()
    for email, name, role in DEMO_AGENTS:
        save_agent(email, name, role, DEMO_PASSWORD, sites=[site])
    past = demo_data.seed_conversations(site)
    if past:
        click.echo(f"{past} past conversations are in History and Reports.")
    articles = demo_data.seed_articles(site)
    if articles:
        click.echo(f"{articles} help articles are in the knowledge base (Admin, Articles).")
    click.echo("Demo site 'demo' and agents demo@example.com, supervisor@example.com, admin@example.com "
               f"(password {DEMO_PASSWORD}) are ready.")
    if new:                     # once, with the site: replies a team deleted stay deleted, a menu changed stays
        seed_canned_replies()
        demo_data.seed_bot_menu(site)
    if current_app.config["CHAT_ENV"] == "development" and demo_data.connect_demo_channels(site):
        click.echo("The demo site's WhatsApp and LINE accounts use the built-in fakes: be a customer at /dev/phone.")


def seed_canned_replies():
    """The demo's canned replies (DEMO_CANNED), so a new team sees the feature at once."""
    for email, shortcut, text in DEMO_CANNED:
        owner = None if email is None else db.session.execute(
            select(Agent.id).filter_by(email=email)).scalar_one()
        create_canned_reply(owner, shortcut, text)
    click.echo(f"{len(DEMO_CANNED)} canned replies are ready: type / in a chat's reply box.")


@bp.cli.command("create-site")
@click.option("--name", required=True, help="The site's name, as agents see it.")
@click.option("--origin", "origin_texts", required=True, multiple=True, metavar="URL",
              help="An origin whose pages may show the widget, scheme://host[:port] "
                   "(repeat for several; `self` is the app's own).")
@click.option("--greeting", help="The first message a visitor sees.")
@click.option("--color", metavar="#RRGGBB", help="The widget's colour.")
@click.option("--routing", type=click.Choice(SITE_ROUTINGS), default="manual", show_default=True,
              help="manual: agents accept waiting chats; auto: each goes to the least busy online agent.")
def create_site(name, origin_texts, greeting, color, routing):
    """Create a site with a new key and print the tag to put on its pages."""
    try:
        site = sites.create_site(name, origin_texts, greeting=greeting, color=color, routing=routing)
    except ChatError as error:
        raise click.UsageError(error.message)
    click.echo(f"Site {site.name!r} is ready; key {site.key}; allowed origins: {' '.join(site.origin_list)}; "
               f"routing {site.routing}")
    click.echo("Put this tag on each page that shows the widget:")
    click.echo(sites.embed_snippet(site, app_origin_for_snippets()))


def app_origin_for_snippets():
    """APP_ORIGIN, or the address `bin/run` serves on (with a note) when it is not set."""
    origin = current_app.config["APP_ORIGIN"]
    if not origin:
        origin = "http://127.0.0.1:5000"
        click.echo(f"Note: APP_ORIGIN is not set; replace {origin} with the chat server's public address.",
                   err=True)
    return origin


@bp.cli.command("site-origins")
@click.argument("key")
@click.option("--add", multiple=True, metavar="URL", help="An origin to allow (repeatable).")
@click.option("--remove", multiple=True, metavar="URL", help="An origin to stop allowing (repeatable).")
def site_origins(key, add, remove):
    """Change (or, with no option, show) the origins a site's widget may be used from.
    Running servers allow an added origin within 10 s and refuse a removed one from the next
    request or connection."""
    try:
        origin_list = sites.change_origins(sites.site_with_key(key), add=add, remove=remove)
    except ChatError as error:
        raise click.UsageError(error.message)
    click.echo(f"Site {key} allows: {' '.join(origin_list) or 'no origin'}")


def site_option(key):
    """The site of a --site option, or a usage error naming the key."""
    try:
        return sites.site_with_key(key)
    except ChatError as error:
        raise click.BadParameter(error.message, param_hint="--site")


@bp.cli.command("kb-import")
@click.argument("folder", metavar="DIR", type=click.Path(exists=True, file_okay=False))
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site whose knowledge base it is.")
def kb_import(folder, site_key):
    """Import every .md file of DIR (a header with title, tags, published, then the Markdown body)
    as articles of the site: an article with the same title is updated, others created. Every
    file is checked first: a bad one is named and nothing is saved."""
    site = site_option(site_key)
    try:
        created, updated = knowledge.import_folder(site, folder)
    except ChatError as error:
        raise click.ClickException(error.message)
    click.echo(f"{created} created, {updated} updated.")


@bp.cli.command("kb-export")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site whose knowledge base it is.")
def kb_export(folder, site_key):
    """Write every article of the site (drafts too) to DIR as <id>-<title>.md files, in the
    format kb-import reads (DIR is made if missing; files of the same name are replaced)."""
    count = knowledge.export_folder(site_option(site_key), folder)
    click.echo(f"{count} {'file' if count == 1 else 'files'} written to {folder}.")


# ---- WhatsApp and LINE (chat/channels/accounts.py) ----

def connect_channel(site_key, channel, **fields):
    """Connect (or reconnect) a site's channel account and say what to paste where; never a secret."""
    site = site_option(site_key)
    try:
        account = channel_accounts.connect(site, channel, **fields)
    except ChatError as error:
        db.session.rollback()
        raise click.ClickException(error.message)
    url = channel_accounts.webhook_url(channel, app_origin_for_snippets())
    name = CHANNEL_TITLES[channel]
    click.echo(f"{site.name} is connected to {name} as {account.display_name or '(no name)'} ({account.external_id}); "
               f"access token {channel_accounts.masked(account.access_token)}.")
    if channel == "whatsapp":
        click.echo("In Meta's App Dashboard, WhatsApp > Configuration > Webhook: set the callback URL to")
        click.echo(f"  {url}")
        click.echo("with the verify token you gave here, then subscribe the webhook to the `messages` field.")
    else:
        click.echo("In the LINE Developers Console, Messaging API tab: set the webhook URL to")
        click.echo(f"  {url}")
        click.echo("turn on \"Use webhook\", and turn off the auto-reply and greeting messages.")


@bp.cli.command("connect-whatsapp")
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site whose customers write from WhatsApp.")
@click.option("--phone-number-id", required=True, metavar="ID", help="The business phone number's ID (not the number).")
@click.option("--access-token", required=True, metavar="TOKEN", help="A system user's permanent access token.")
@click.option("--app-secret", required=True, metavar="SECRET", help="The Meta app's secret: it signs the webhooks.")
@click.option("--verify-token", required=True, metavar="TOKEN",
              help="A word of your choice, typed again in Meta's webhook settings.")
@click.option("--business-account-id", metavar="ID", help="The WhatsApp Business Account ID (for templates).")
@click.option("--api-base", metavar="URL", help="Another Graph API address (a fake provider in development).")
def connect_whatsapp(site_key, phone_number_id, access_token, app_secret, verify_token, business_account_id,
                     api_base):
    """Connect a site to a WhatsApp Business number (or replace its credentials); the number's
    name is asked of the Graph API with the token, so a wrong one is refused now."""
    connect_channel(site_key, "whatsapp", phone_number_id=phone_number_id, access_token=access_token,
                    app_secret=app_secret, verify_token=verify_token, business_account_id=business_account_id,
                    api_base=api_base)


@bp.cli.command("connect-line")
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site whose customers write from LINE.")
@click.option("--channel-secret", required=True, metavar="SECRET", help="The channel secret: it signs the webhooks.")
@click.option("--access-token", required=True, metavar="TOKEN", help="A long-lived channel access token.")
@click.option("--api-base", metavar="URL", help="Another Messaging API address (a fake provider in development).")
def connect_line(site_key, channel_secret, access_token, api_base):
    """Connect a site to a LINE Official Account (or replace its credentials); the bot's id and
    name are asked of the Messaging API with the token, so a wrong one is refused now."""
    connect_channel(site_key, "line", channel_secret=channel_secret, access_token=access_token, api_base=api_base)


@bp.cli.command("disconnect-channel")
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site.")
@click.option("--channel", required=True, type=click.Choice(CHANNEL_PROVIDERS), help="The channel to disconnect.")
def disconnect_channel(site_key, channel):
    """Forget a site's WhatsApp or LINE account and its secrets; messages still waiting to go
    are marked failed."""
    site = site_option(site_key)
    if channel_accounts.disconnect(site, channel):
        click.echo(f"{site.name} is no longer connected to {CHANNEL_TITLES[channel]}.")
    else:
        click.echo(f"{site.name} was not connected to {CHANNEL_TITLES[channel]}.")


@bp.cli.command("list-sites")
def list_sites():
    """List the sites: key, name and allowed origins."""
    rows = db.session.execute(select(Site).order_by(Site.id)).scalars().all()
    if not rows:
        click.echo("No sites.")
        return
    click.echo(f"{'key':22}  {'name':30}  origins")
    for site in rows:
        click.echo(f"{site.key:22}  {site.name[:30]:30}  {' '.join(site.origin_list)}")


@bp.cli.command("list-sessions")
@click.option("--status", type=click.Choice(SESSION_STATUSES), help="Only this status.")
@click.option("--limit", default=50, show_default=True)
def list_sessions(status, limit):
    """List chat sessions, newest first."""
    query = select(ChatSession).order_by(ChatSession.started_at.desc()).limit(limit)
    if status:
        query = query.where(ChatSession.status == status)
    rows = db.session.execute(query).scalars().all()
    if not rows:
        click.echo("No sessions.")
        return
    click.echo(f"{'id':36}  {'status':9}  {'started (UTC)':19}  {'agent':20}  visitor")
    for row in rows:
        agent = row.agent.display_name if row.agent else "-"
        click.echo(f"{row.id:36}  {row.status:9}  {row.started_at:%Y-%m-%d %H:%M:%S}  "
                   f"{agent[:20]:20}  {row.visitor_label}")


@bp.cli.command("run-jobs")
@click.option("--once", is_flag=True, help="Run every job once and exit (for cron).")
@click.option("--now", "now_text", metavar="ISO-TIME",
              help="Pretend it is this UTC time (e.g. 2030-01-01T12:00:00), for trying the rules out.")
def run_jobs_command(once, now_text):
    """Run the housekeeping jobs: expiry, heartbeat timeout and inactivity."""
    try:
        now = datetime.fromisoformat(now_text.rstrip("Z")) if now_text else None
    except ValueError:
        raise click.BadParameter("use an ISO time such as 2030-01-01T12:00:00", param_hint="--now")
    if not current_app.config["SOCKETIO_MESSAGE_QUEUE"]:
        click.echo("Note: SOCKETIO_MESSAGE_QUEUE is not set, so connected clients learn of these "
                   "changes only when they next reconnect or reload.", err=True)
    while True:
        counts = run_jobs(now=now, use_lease=not once)
        if counts is not None:
            click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))
        if once:
            return
        db.session.remove()
        time.sleep(current_app.config["JOBS_INTERVAL_SECONDS"])


@bp.cli.command("sync-templates")
@click.option("--site", "site_key", required=True, metavar="KEY", help="The site whose WhatsApp account it is.")
def sync_templates(site_key):
    """Copy the approved message templates of the site's WhatsApp business account (what an agent
    may send once a customer's 24-hour window has closed)."""
    from .channels import SendError, whatsapp
    account = whatsapp.account_of_site(site_option(site_key).id)
    if account is None:
        raise click.ClickException("This site has no WhatsApp account connected.")
    try:
        templates = whatsapp.sync_templates(account)
    except SendError as error:
        raise click.ClickException(error.text)
    click.echo(f"{len(templates)} approved {'template' if len(templates) == 1 else 'templates'}: "
               + (", ".join(f"{t['name']} ({t['language']})" for t in templates) or "none"))
