"""Agent login and logout."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .extensions import db, limiter, login_manager
from .models import Agent
from .realtime.disconnect import disconnect_agent_sockets

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see the dashboard."


@login_manager.user_loader
def load_agent(agent_id):
    return db.session.get(Agent, int(agent_id)) if agent_id.isdigit() else None


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def safe_next_url(target):
    """Only a path on this site; anything else goes to the dashboard."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.index")


def login_account_key():
    return "login-account:" + request.form.get("email", "")[:254].strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=login_account_key)
def login():
    """The login form: email, password and a CSRF token."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        agent = db.session.execute(db.select(Agent).filter_by(email=email)).scalar_one_or_none()
        if agent and agent.active and agent.check_password(form.password.data):
            login_user(agent)
            return redirect(safe_next_url(request.args.get("next")))
        flash("Wrong email or password.")
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out (a POST with the CSRF token, so no other site can log an agent out)."""
    agent_id = current_user.id
    logout_user()
    disconnect_agent_sockets(agent_id)
    return redirect(url_for("auth.login"))
