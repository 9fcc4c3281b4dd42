"""Socket.IO namespaces: /visitor for the widget, /agent for the dashboard."""
from . import agent_events, visitor_events  # noqa: F401  (registers the handlers)
