"""Entry point for `flask --app app ...` (development server and CLI commands)."""
from chat import create_app

app = create_app()
