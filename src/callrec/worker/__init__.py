"""Job queue wiring: a registry of named jobs, huey as the transport (SQLite embedded, Redis at
scale), sending after commit, and the process-wide runtime the jobs run in."""
