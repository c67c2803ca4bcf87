"""The notifications service. It talks to the other services only through the event log."""
