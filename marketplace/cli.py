"""The ``marketplace`` command: a Flask CLI group over the same services the pages use."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from marketplace.errors import ServiceError
from marketplace.extensions import db


def _create_app() -> Flask:
    from marketplace import create_app
    from marketplace.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # a bad setting stops the start with its name, no traceback
        raise click.ClickException(f"配置错误 (configuration error): {exc}") from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """社会扶贫对接平台 — social poverty-alleviation docking platform."""


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-jobs", is_flag=True, help="Do not run the job worker in this process.")
@with_appcontext
def serve_command(host: str, port: int, threads: int, no_jobs: bool) -> None:
    """Serve the site with waitress (the embedded default), and run the background jobs in
    this process too when their store is the embedded one (JOBS_IN_PROCESS)."""
    from flask import current_app
    from waitress import serve

    from marketplace.jobs.worker import start_in_process

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    consumer = None if no_jobs else start_in_process(app)
    if consumer is not None:
        click.echo(f"Background jobs: {consumer.workers} worker threads in this process.")
    click.echo(f"Serving on http://{host}:{port}/")
    try:
        serve(app, host=host, port=port, threads=threads)
    finally:
        if consumer is not None:
            consumer.stop()


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads.")  # fmt: skip
@click.option("--no-periodic", is_flag=True, help="Run queued jobs only, no periodic tasks.")
@with_appcontext
def worker_command(workers: int, no_periodic: bool) -> None:
    """Run a job worker (a Huey consumer) against JOBS_URL, for scale-out (Ctrl-C stops it)."""
    from flask import current_app

    from marketplace.jobs.worker import run_worker

    run_worker(current_app._get_current_object(), workers, periodic=not no_periodic)  # type: ignore[attr-defined]


@click.group("jobs", invoke_without_command=True)
@with_appcontext
def jobs_group() -> None:
    """The periodic tasks: schedule, last run, outcome and next run."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    from flask import current_app

    from marketplace.jobs.worker import overview_lines

    for line in overview_lines(current_app._get_current_object()):  # type: ignore[attr-defined]
        click.echo(line)


@jobs_group.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run one periodic task now, under its lock, recorded like a scheduled run."""
    from flask import current_app

    from marketplace.jobs import jobs_of
    from marketplace.jobs.tasks import PERIODIC_BY_NAME
    from marketplace.jobs.worker import describe_run

    if name not in PERIODIC_BY_NAME:
        raise click.BadParameter(f"one of {', '.join(PERIODIC_BY_NAME)}", param_hint="NAME")
    run = jobs_of(current_app).run_periodic(name)  # type: ignore[arg-type]
    if run is None:
        raise click.ClickException(f"{name} is running elsewhere now: nothing done.")
    click.echo(describe_run(run))
    if run.outcome.value == "failed":
        raise SystemExit(1)


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Load the gazetteer, Baiyin's townships and villages and the demo data (idempotent)."""
    from marketplace.accounts.models import User
    from marketplace.demo import DEMO_PASSWORD, load_demo

    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("Database already holds accounts: demo data not loaded.")
        return
    summary = load_demo()
    db.session.commit()
    from marketplace.search.services import rebuild

    summary["search documents"] = rebuild()
    for key, value in summary.items():
        click.echo(f"{key}: {value}")
    click.echo(f"Demo accounts share the password {DEMO_PASSWORD!r} (demo data only).")


@click.command("synth")
@click.option("--households", default=10_000, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--resources", default=1_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--province", default="62", show_default=True, help="Two-digit province code.")
@with_appcontext
def synth_command(households: int, resources: int, province: str) -> None:
    """Fill the database with a synthetic province (for benchmarks; not for production)."""
    from marketplace.synth import synth_rows, synthesize

    with click.progressbar(length=synth_rows(households, resources), label="rows") as bar:
        counts = synthesize(households, resources, province, progress=bar.update)
    db.session.commit()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@click.group("regions")
def regions_group() -> None:
    """Administrative regions."""


@regions_group.command("gazetteer")
@with_appcontext
def regions_gazetteer() -> None:
    """Load China's provinces, cities and counties (idempotent)."""
    from marketplace.regions.services import load_gazetteer

    report = load_gazetteer()
    db.session.commit()
    click.echo(f"{report.created} regions created.")


@regions_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def regions_load(file: Path) -> None:
    """Load townships and villages from a CSV file: code,name,parent_code[,lat,lng]."""
    from marketplace.regions.services import load_gazetteer, load_subdivisions

    load_gazetteer()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException("The file is not UTF-8 text.") from exc
    report = load_subdivisions(text)
    if not report.ok:
        db.session.rollback()
        for line, message in report.errors:
            click.echo(f"line {line}: {message}", err=True)
        raise click.ClickException(f"{len(report.errors)} bad rows; nothing was loaded.")
    db.session.commit()
    click.echo(f"{report.created} created, {report.updated} updated.")


@click.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["staff", "admin", "auditor", "superuser"]),
)
@click.option("--region", "region_codes", multiple=True, help="12-digit region code; repeatable.")
@click.password_option()
@with_appcontext
def users_create(
    username: str, display_name: str, role: str, region_codes: tuple[str, ...], password: str
) -> None:
    """Create a staff, administrator, auditor or superuser account."""
    from marketplace.accounts.models import Role
    from marketplace.accounts.services import create_user
    from marketplace.regions.models import Region

    regions = list(db.session.scalars(sa.select(Region).where(Region.code.in_(region_codes))))
    missing = set(region_codes) - {r.code for r in regions}
    if missing:
        raise click.ClickException(f"Unknown region codes: {', '.join(sorted(missing))}")
    try:
        user = create_user(
            None,
            username=username,
            display_name=display_name,
            role=Role(role),
            regions=regions,
            password=password,
        )
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.username}.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The staff account the register is kept by.")
@with_appcontext
def import_command(file: Path, username: str) -> None:
    """Import a filled register template (.xlsx) as a staff member would through the page:
    checked row by row, then written all or nothing."""
    from flask import current_app

    from marketplace.accounts.models import User
    from marketplace.imports.pending import digest
    from marketplace.imports.reading import read_upload
    from marketplace.imports.spreadsheet import check_xlsx
    from marketplace.imports.writing import import_rows

    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.active:
        raise click.ClickException(f"No active account {username!r}.")
    data = file.read_bytes()
    config = current_app.config
    try:
        check_xlsx(data, config["IMPORT_MAX_BYTES"], config["IMPORT_MAX_UNZIPPED"])
        preview = read_upload(user, data, config["IMPORT_MAX_ROWS"])
        if not preview.ok:
            for problem in preview.file_errors:
                click.echo(problem, err=True)
            for row in preview.rows_with_errors:
                click.echo(
                    f"{row.sheet} {row.number} {row.label}: {'；'.join(row.errors)}", err=True
                )
            raise click.ClickException("Nothing imported: correct the rows above.")
        with click.progressbar(length=preview.rows, label="rows") as bar:
            done = [0]

            def advance(written: int, _total: int) -> None:
                bar.update(written - done[0])
                done[0] = written

            households, needs = import_rows(user, preview, digest(data), progress=advance)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    click.echo(f"Imported {households} households, {len(preview.members)} members, {needs} needs.")


@click.group("matches")
def matches_group() -> None:
    """Matches."""


@matches_group.command("expire")
@with_appcontext
def matches_expire() -> None:
    """Expire stale pledges and overdue approved matches, releasing quantities, and resources
    whose validity has ended (for cron)."""
    from marketplace.db import utcnow
    from marketplace.matches.services import expire_matches
    from marketplace.notifications.services import send_pending_emails
    from marketplace.resources.services import expire_resources

    now = utcnow()
    counts = expire_matches(now, each=db.session.commit)
    ended = expire_resources(now)
    db.session.commit()
    send_pending_emails()
    db.session.commit()
    click.echo(f"{counts['pledges']} pledges and {counts['approved']} approved matches expired.")
    click.echo(f"{counts['skipped']} matches changed meanwhile, left for the next run.")
    click.echo(
        f"{ended['expired']} resources expired; {ended['skipped']} changed meanwhile, "
        "left for the next run."
    )


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the hash chain, the events' seals and the signed checkpoints; report the first
    event changed, inserted or deleted."""
    from marketplace.audit.checkpoints import verify_trail

    report = verify_trail()
    if report.problem is not None:
        raise click.ClickException(report.problem.describe())
    checkpoint = report.checkpoint
    if checkpoint is None:
        click.echo(f"The audit trail is intact ({report.events} events); no checkpoint yet:"
                   " run `marketplace audit checkpoint`.")  # fmt: skip
        return
    click.echo(
        f"The audit trail is intact: {report.events} events; checkpoint {checkpoint.seq} of"
        f" {checkpoint.created_at:%Y-%m-%d %H:%M} UTC holds ({checkpoint.event_count} events,"
        f" head {checkpoint.head_hash}); {report.after_checkpoint} events since."
    )


@audit_group.command("checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Check the trail and sign its head now (the periodic job does it too)."""
    from marketplace.audit.checkpoints import TrailBroken, write_checkpoint

    try:
        checkpoint = write_checkpoint()
    except TrailBroken as broken:
        raise click.ClickException(f"no checkpoint written: {broken}") from None
    click.echo(
        f"Checkpoint {checkpoint.seq}: {checkpoint.event_count} events, last"
        f" {checkpoint.last_event_id}, head {checkpoint.head_hash}."
    )


@click.group("search")
def search_group() -> None:
    """The search index."""


@search_group.command("sync")
@with_appcontext
def search_sync() -> None:
    """Apply pending changes to the index (idempotent; for cron and after a crash)."""
    from marketplace.search.services import sync

    click.echo(f"{sync()} documents updated.")


@search_group.command("rebuild")
@with_appcontext
def search_rebuild() -> None:
    """Rebuild the index from the database."""
    from marketplace.search.services import rebuild, total_documents

    with click.progressbar(length=total_documents(), label="documents") as bar:
        seen = [0]

        def advance(done: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        indexed = rebuild(progress=advance)
    click.echo(f"{indexed} documents indexed.")


@click.group("notifications")
def notifications_group() -> None:
    """Notifications."""


@notifications_group.command("send")
@with_appcontext
def notifications_send() -> None:
    """E-mail queued notifications when MAIL_SERVER is configured (for cron)."""
    from marketplace.notifications.services import send_pending_emails

    sent = send_pending_emails()
    db.session.commit()
    click.echo(f"{sent} e-mails sent.")


@click.group("reports")
def reports_group() -> None:
    """Monthly progress reports."""


@reports_group.command("snapshot")
@click.option("--month", required=True, help="The month to freeze, as YYYY-MM.")
@click.option("--region", "region_code", help="Region code; default: every deployed province.")
@click.option("--replace", is_flag=True, help="Recompute a month already frozen (audited).")
@with_appcontext
def reports_snapshot(month: str, region_code: str | None, replace: bool) -> None:
    """Freeze a finished month's figures so that later corrections do not rewrite them."""
    from marketplace.regions.services import by_code
    from marketplace.reports.figures import parse_month
    from marketplace.reports.services import deployment_roots, take_snapshot

    try:
        first = parse_month(month)
    except ValueError as exc:
        raise click.BadParameter(
            "give the month as YYYY-MM, e.g. 2026-10", param_hint="--month"
        ) from exc
    if region_code:
        region = by_code(region_code)
        if region is None:
            raise click.BadParameter(f"no region has the code {region_code}", param_hint="--region")
        roots = [region]
    else:
        roots = deployment_roots()
    if not roots:
        raise click.ClickException("No region is deployed yet: load the regions first.")
    for root in roots:
        try:
            snapshot = take_snapshot(None, root, first, replace=replace)
        except ServiceError as exc:
            db.session.rollback()
            raise click.ClickException(f"{root.name} {month}: {exc}") from exc
        db.session.commit()
        regions = len(snapshot.figures["regions"])
        click.echo(f"{root.name} {month}: frozen ({regions} regions with figures).")


def register_commands(app: Flask) -> None:
    for command in (
        serve_command,
        worker_command,
        jobs_group,
        demo_command,
        synth_command,
        import_command,
        regions_group,
        users_group,
        matches_group,
        audit_group,
        search_group,
        notifications_group,
        reports_group,
    ):
        app.cli.add_command(command)
