"""`flask chat ...` and the settings, run as a maintainer would run them."""
import subprocess
import sys

from tests.support import ROOT, flask_cli, server_environment


def migrated(tmp_path):
    env = server_environment(tmp_path)
    assert flask_cli(env, "db", "upgrade").returncode == 0
    return env


def test_seed_demo_is_safe_to_run_twice(tmp_path):
    env = migrated(tmp_path)
    for _ in range(2):
        result = flask_cli(env, "chat", "seed-demo")
        assert result.returncode == 0, result.stderr
    assert "demo@example.com" in result.stdout


def test_create_agent_prompts_for_the_password(tmp_path):
    env = migrated(tmp_path)
    result = flask_cli(env, "chat", "create-agent", "--email", "New@Example.com", "--name", "New",
                       "--role", "supervisor", input_text="long-password\nlong-password\n")
    assert result.returncode == 0, result.stderr
    assert "new@example.com (supervisor) is ready" in result.stdout
    short = flask_cli(env, "chat", "create-agent", "--email", "x@example.com", "--name", "X",
                      "--password", "short")
    assert short.returncode != 0 and "at least 8 characters" in short.stderr


def test_create_agent_refuses_what_is_not_an_email_address(tmp_path):
    env = migrated(tmp_path)
    refused = flask_cli(env, "chat", "create-agent", "--email", "notanemail", "--name", "X", input_text="")
    assert refused.returncode != 0 and "notanemail is not an email address" in refused.stderr
    assert "Password" not in refused.stdout       # refused before the prompt


def test_sites_are_created_listed_and_given_origins(tmp_path):
    env = migrated(tmp_path)
    assert "No sites." in flask_cli(env, "chat", "list-sites").stdout
    created = flask_cli(env, "chat", "create-site", "--name", "Shop", "--origin", "https://Shop.example/",
                        "--origin", "http://127.0.0.1:5001")
    assert created.returncode == 0, created.stderr
    key = created.stdout.split("key ")[1].split(";")[0]
    assert "allowed origins: https://shop.example http://127.0.0.1:5001" in created.stdout
    assert f'<script src="http://127.0.0.1:5000/widget.js" data-site="{key}" async></script>' in created.stdout
    assert "APP_ORIGIN is not set" in created.stderr

    changed = flask_cli(env, "chat", "site-origins", key, "--add", "https://www.shop.example:443",
                        "--remove", "http://127.0.0.1:5001")
    assert changed.returncode == 0, changed.stderr
    assert f"Site {key} allows: https://shop.example https://www.shop.example" in changed.stdout
    listing = flask_cli(env, "chat", "list-sites").stdout
    assert key in listing and "Shop" in listing and "https://shop.example https://www.shop.example" in listing

    with_app_origin = dict(env, APP_ORIGIN="https://chat.example.com")
    blog = flask_cli(with_app_origin, "chat", "create-site", "--name", "Blog", "--origin", "https://blog.example")
    assert '<script src="https://chat.example.com/widget.js" data-site="' in blog.stdout
    assert blog.stderr == ""


def test_bad_site_input_is_refused_with_a_sentence_and_writes_nothing(tmp_path):
    env = migrated(tmp_path)
    flask_cli(env, "chat", "seed-demo")
    before = flask_cli(env, "chat", "list-sites").stdout
    bad_origin = flask_cli(env, "chat", "create-site", "--name", "Shop", "--origin", "https://shop.example",
                           "--origin", "https://shop.example/path")
    assert bad_origin.returncode != 0
    assert ("https://shop.example/path is not an origin: use scheme://host[:port], e.g. https://shop.example"
            in bad_origin.stderr)
    bad_change = flask_cli(env, "chat", "site-origins", "demo", "--add", "https://ok.example",
                           "--add", "shop.example")
    assert bad_change.returncode != 0 and "shop.example is not an origin" in bad_change.stderr
    unknown = flask_cli(env, "chat", "site-origins", "nosuchkey", "--add", "https://ok.example")
    assert unknown.returncode != 0 and "No site has the key nosuchkey." in unknown.stderr
    assert flask_cli(env, "chat", "list-sites").stdout == before


def test_list_sessions_shows_sessions(tmp_path):
    env = migrated(tmp_path)
    assert "No sessions." in flask_cli(env, "chat", "list-sessions").stdout
    flask_cli(env, "chat", "seed-demo")
    code = ("from chat import create_app, sessions\nfrom chat.models import Site\nfrom chat.extensions import db\n"
            "app = create_app()\nwith app.app_context():\n"
            "    sessions.start_session(db.session.execute(db.select(Site)).scalar_one(), name='Listed')\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    listing = flask_cli(env, "chat", "list-sessions", "--status", "bot").stdout   # the demo's bot answers first
    assert "Listed" in listing and "bot" in listing
    assert "Listed" not in flask_cli(env, "chat", "list-sessions", "--status", "waiting").stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = server_environment(tmp_path)
    env.pop("SECRET_KEY")
    env["CHAT_ENV"] = "production"
    result = flask_cli(env, "chat", "list-sessions")
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    env = server_environment(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path}/wal.db"})
    assert flask_cli(env, "db", "upgrade").returncode == 0
    code = ("from chat import create_app\nfrom chat.extensions import db\napp = create_app()\n"
            "with app.app_context():\n"
            "    print(db.session.execute(db.text('PRAGMA journal_mode')).scalar(),"
            " db.session.execute(db.text('PRAGMA busy_timeout')).scalar())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["wal", "5000"]


def test_wsgi_patches_with_eventlet_before_anything_else(tmp_path):
    first_code_lines = [line for line in (ROOT / "wsgi.py").read_text().splitlines()
                        if line.strip() and not line.startswith(("#", '"""', "The ", "which "))]
    assert first_code_lines[0].startswith("import os")
    assert "eventlet.monkey_patch()" in (ROOT / "wsgi.py").read_text()
    chat_sources = "".join(path.read_text() for path in (ROOT / "chat").rglob("*.py"))
    assert "import eventlet" not in chat_sources


def test_kb_import_and_export_move_a_sites_articles_through_a_folder_of_markdown_files(tmp_path):
    env = migrated(tmp_path)
    created = flask_cli(env, "chat", "create-site", "--name", "Shop", "--origin", "https://shop.example")
    key = created.stdout.split("key ")[1].split(";")[0]
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "shipping.md").write_text("---\ntitle: Shipping\ntags: delivery, post\npublished: true\n---\n"
                                        "We ship in **one day**.\n")
    (folder / "hours.md").write_text("---\ntitle: Opening hours\n---\nNine to five.\n")
    imported = flask_cli(env, "chat", "kb-import", str(folder), "--site", key)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "2 created, 0 updated.\n"

    (folder / "hours.md").write_text("---\ntitle: Opening hours\npublished: yes\n---\nTen to six.\n")
    (folder / "zz-broken.md").write_text("---\ntitle: Broken\npublished: maybe\n---\nBody.\n")
    refused = flask_cli(env, "chat", "kb-import", str(folder), "--site", key)
    assert refused.returncode != 0
    assert "zz-broken.md: published must be true or false." in refused.stderr
    (folder / "zz-broken.md").write_text("---\ntitle: Shipping\n---\nTwice.\n")
    refused = flask_cli(env, "chat", "kb-import", str(folder), "--site", key)
    assert "zz-broken.md: shipping.md has the same title; a title names one article." in refused.stderr
    (folder / "zz-broken.md").write_text("No header at all.\n")
    refused = flask_cli(env, "chat", "kb-import", str(folder), "--site", key)
    assert "zz-broken.md: it must start with a header between two '---' lines (title: ...)." in refused.stderr

    out = tmp_path / "out"
    exported = flask_cli(env, "chat", "kb-export", str(out), "--site", key)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == f"2 files written to {out}.\n"
    hours = next(out.glob("*-opening-hours.md")).read_text()
    assert hours == "---\ntitle: Opening hours\ntags: \npublished: false\n---\nNine to five.\n"   # nothing was saved

    (folder / "zz-broken.md").unlink()
    again = flask_cli(env, "chat", "kb-import", str(folder), "--site", key)
    assert again.stdout == "0 created, 2 updated.\n"
    flask_cli(env, "chat", "kb-export", str(out), "--site", key)
    assert next(out.glob("*-opening-hours.md")).read_text().endswith("published: true\n---\nTen to six.\n")
    assert next(out.glob("*-shipping.md")).read_text() == (
        "---\ntitle: Shipping\ntags: delivery, post\npublished: true\n---\nWe ship in **one day**.\n")

    unknown = flask_cli(env, "chat", "kb-import", str(folder), "--site", "nope")
    assert unknown.returncode != 0 and "No site has the key nope." in unknown.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = flask_cli(env, "chat", "kb-import", str(empty), "--site", key)
    assert nothing.returncode != 0 and f"No .md file in {empty}." in nothing.stderr
