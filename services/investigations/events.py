"""investigations owns no events and no streams: it appends nothing, and reads the other services'
events through their contracts (shared/contracts/), never their names as strings. What the KPI
report reads is rules.KPI_SOURCES; what the export reads is every event naming the child."""
