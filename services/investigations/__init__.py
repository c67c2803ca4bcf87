"""investigations: read-only subject-access export, monthly KPIs and inspector pages, from the log."""
