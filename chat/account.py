"""Every agent's own account: the display name others see, the password, and its own canned
replies (the rules are in `canned` and `access`); the canned replies it may use, as JSON for the
dashboard's picker."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from . import canned, payloads
from .errors import ChatError
from .extensions import db, limiter
from .realtime.disconnect import disconnect_agent_sockets

bp = Blueprint("account", __name__)
MIN_PASSWORD_LENGTH = 8


class NameForm(FlaskForm):
    display_name = StringField("Display name", validators=[
        DataRequired("Please enter the name visitors will see."),
        Length(max=80, message="A display name can be up to 80 characters.")])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Please enter your current password.")])
    new_password = PasswordField("New password", validators=[
        DataRequired("Please choose a new password."),
        Length(min=MIN_PASSWORD_LENGTH, max=200,
               message=f"A password needs {MIN_PASSWORD_LENGTH} to 200 characters.")])
    repeat_password = PasswordField("New password again", validators=[
        EqualTo("new_password", message="The two new passwords are not the same.")])


@bp.get("/account")
@login_required
def account():
    """The agent's name and password. See docs/protocol.md, HTTP: pages."""
    return render_template("account.html", name_form=NameForm(display_name=current_user.display_name),
                           password_form=PasswordForm())


@bp.post("/account/name")
@login_required
def change_name():
    form = NameForm()
    if not form.validate_on_submit():
        return render_template("account.html", name_form=form, password_form=PasswordForm()), 400
    current_user.display_name = form.display_name.data.strip()
    db.session.commit()
    flash("Your display name is now " + current_user.display_name + ".")
    return redirect(url_for("account.account"))


@bp.post("/account/password")
@login_required
@limiter.limit("10 per minute")
def change_password():
    """A new password ends every other login of the agent (its other browsers and their
    sockets); this browser stays logged in."""
    form = PasswordForm()
    agent = current_user._get_current_object()
    if form.validate_on_submit():
        if agent.check_password(form.current_password.data):
            agent.set_password(form.new_password.data)
            agent.revoke_logins()
            db.session.commit()
            disconnect_agent_sockets(agent.id)
            login_user(agent)                    # this browser's cookie, for the new version
            flash("Your password has been changed; your other logins have ended.")
            return redirect(url_for("account.account"))
        form.current_password.errors.append("That is not your current password.")
    return render_template("account.html", name_form=NameForm(display_name=agent.display_name),
                           password_form=form), 400


# ---- personal canned replies ----

def canned_page(status=200, **shown):
    return render_template("account_canned.html", replies=canned.replies_of(current_user.id),
                           shared=canned.replies_of(None), **shown), status


@bp.get("/account/canned")
@login_required
def canned_list():
    """The agent's own canned replies; add, change or delete one. See docs/protocol.md, HTTP: pages."""
    return canned_page()


@bp.post("/account/canned")
@login_required
def add_canned():
    try:
        reply = canned.create(current_user.id, request.form.get("shortcut"), request.form.get("text"))
    except ChatError as error:
        return canned_page(400, error=error.message, draft=request.form)
    flash(f"/{reply.shortcut} is saved.")
    return redirect(url_for("account.canned_list"))


@bp.post("/account/canned/<id:reply_id>")
@login_required
def save_canned(reply_id):
    reply = canned.manageable(current_user, reply_id) or abort(404)
    try:
        canned.update(reply, request.form.get("shortcut"), request.form.get("text"))
    except ChatError as error:
        return canned_page(400, error=error.message, editing=reply.id, draft=request.form)
    flash(f"/{reply.shortcut} is saved.")
    return redirect(url_for("account.canned_list"))


@bp.post("/account/canned/<id:reply_id>/delete")
@login_required
def delete_canned(reply_id):
    reply = canned.manageable(current_user, reply_id) or abort(404)
    canned.delete(reply)
    flash(f"/{reply.shortcut} is deleted.")
    return redirect(url_for("account.canned_list"))


@bp.get("/api/v1/agent/canned")
def canned_replies():
    """JSON for the dashboard's picker: the agent's own canned replies and the shared ones.
    See docs/protocol.md, HTTP: agent API."""
    if not current_user.is_authenticated:
        raise ChatError("login_required", "Please log in again.")
    return {"replies": [payloads.canned_reply(reply) for reply in canned.replies_for(current_user)]}
