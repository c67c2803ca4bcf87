"""investigations records nothing: it has no commands. Its reads of the log are projections.py."""
