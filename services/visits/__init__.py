"""The visits service. It talks to the other services only through the event log."""
