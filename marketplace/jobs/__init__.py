"""Background jobs: the periodic tasks (expiry, e-mail, the search outbox, frozen reports) and
long work, run by Huey consumers — threads inside ``marketplace serve`` with the embedded
SQLite store, ``marketplace worker`` processes against Redis for scale-out.

The top layer: it calls the services of every domain below it, as the API does."""

from marketplace.jobs.runner import Jobs, init_app, jobs_of

__all__ = ["Jobs", "init_app", "jobs_of"]
