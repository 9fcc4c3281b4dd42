"""Agent login and logout."""
import functools
import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from . import sessions
from .errors import ChatError
from .extensions import db, limiter, login_manager
from .models import Agent, ChatSession
from .passwords import hash_password, password_matches
from .realtime.disconnect import disconnect_agent_sockets

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see the dashboard."


def api_login_required(view):
    """login_required for a JSON endpoint: a caller who is not logged in gets 401
    {"error": {"code": "login_required"}} rather than the login page."""
    @functools.wraps(view)
    def logged_in_only(*args, **kwargs):
        if not current_user.is_authenticated:
            raise ChatError("login_required", "Log in to use the agent API.")
        return view(*args, **kwargs)
    return logged_in_only


LOGIN_TOKEN = re.compile(r"(\d{1,18}):(\d{1,18})", re.ASCII)


@login_manager.user_loader
def load_agent(token):
    """The agent of a login cookie ("id:version"), only while its session version holds:
    a logout, password reset, role change or disable bumps it and ends every login."""
    match = LOGIN_TOKEN.fullmatch(token)
    if match is None:
        return None
    agent = db.session.get(Agent, int(match[1]))
    return agent if agent is not None and agent.session_version == int(match[2]) else None


# Shown when a dashboard finds its login gone (logged out elsewhere, password or role
# changed, disabled): the dashboard sends the agent to /login?ended=1.
LOGIN_ENDED = ("Your login has ended: you logged out in another window, or an administrator "
               "changed or disabled your account. Log in again to continue.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def safe_next_url(target):
    """Only a plain path on this site; anything else goes to the dashboard. Browsers drop
    tabs and newlines and read a backslash as a slash, so `/\t/evil.example` would be
    `//evil.example`: any control character, space or backslash refuses the target, as
    does an empty segment (`//`) or a dot segment (`/.//` collapses to `//`)."""
    if not target or not target.startswith("/") or len(target) > 2000:
        return url_for("dashboard.index")
    if any(ord(char) <= 0x20 or char in "\\\x7f" for char in target):
        return url_for("dashboard.index")
    parts = urlsplit(target)
    segments = parts.path.split("/")[1:]
    if parts.scheme or parts.netloc or any(segment in ("", ".", "..") for segment in segments[:-1]):
        return url_for("dashboard.index")
    return target


@functools.cache
def throwaway_hash():
    return hash_password("not-an-agent-password")


def spend_a_password_check(password):
    """Check the password against a throwaway hash, so that a login with an unknown or
    disabled email takes as long as one with a wrong password (no account enumeration)."""
    password_matches(throwaway_hash(), password)


def login_account_key():
    return "login-account:" + request.form.get("email", "")[:254].strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=login_account_key)
def login():
    """The login form: email, password and a CSRF token. See docs/protocol.md, `/login`."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "GET" and request.args.get("ended") == "1":
        flash(LOGIN_ENDED)
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        agent = db.session.execute(db.select(Agent).filter_by(email=email)).scalar_one_or_none()
        if agent is None or not agent.active:
            spend_a_password_check(form.password.data)
        elif agent.check_password(form.password.data):
            session.permanent = True      # expires after LOGIN_LIFETIME_HOURS without a request
            login_user(agent)
            return redirect(safe_next_url(request.args.get("next")))
        flash("Wrong email or password.")
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out (a POST with the CSRF token, so no other site can log an agent out).
    Every login of the agent ends, copied cookies and other browsers included, and its
    chats go back to the queue.
    See docs/protocol.md, `POST /logout`."""
    agent = current_user._get_current_object()
    agent.revoke_logins()
    db.session.commit()
    logout_user()
    disconnect_agent_sockets(agent.id)
    sessions.return_to_queue(ChatSession.agent_id == agent.id, "logged out")
    return redirect(url_for("auth.login"))
