"""The `carelog` command: serve, migrate, verify, replay, token."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, TypeVar

import structlog
import typer
import uvloop
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.app import SERVICE_NAMES, all_projectors, create_app, service_specs
from shared.auth import Role, mint_token
from shared.checkpoints import Checkpoint, hash_at, signature_valid, signing_key, take_checkpoint, trusted_public_key
from shared.clock import SystemClock
from shared.db import APP_ROLE, as_role, create_engine, migrate
from shared.eventstore import EventStore, ProjectorRunner, VerifyResult, sql, verify_chain
from shared.eventstore.projector import Projector, replay_groups
from shared.eventstore.shredding import KeyRing, install, local_wrapper
from shared.logs import configure_logging
from shared.progress import CommandProgress
from shared.settings import ConfigurationError, Settings, describe, get_settings

T = TypeVar("T")
log = structlog.get_logger("carelog.cli")


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine on uvloop, as `serve` runs (uvicorn's default when installed)."""
    return uvloop.run(main)


cli = typer.Typer(help="carelog: the record of every child in a fostering agency.", no_args_is_help=True)

# The exit code of a command refused for its configuration (as for a usage error).
CONFIGURATION_EXIT = 2


def settings_keys() -> KeyRing:
    """The data keys, unwrapped with the key-encryption key of the settings (and made this
    process's key ring, which projections read with)."""
    settings = get_settings()
    keys = KeyRing(local_wrapper(settings.key_encryption_key, settings.key_encryption_key_file))
    install(keys)
    return keys


def refuse_configuration(reason: str) -> typer.Exit:
    """One line on stderr, no traceback: the operator's next step is to fix a variable."""
    typer.echo(f"carelog: configuration error: {reason}", err=True)
    return typer.Exit(CONFIGURATION_EXIT)


def carelog_version() -> str:
    try:
        return metadata.version("carelog")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"carelog {carelog_version()}")
        raise typer.Exit()


@cli.callback()
def check_configuration(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=show_version, help="Print the version and exit")
    ] = False,
) -> None:
    """carelog: the record of every child in a fostering agency."""
    # Every command reads the settings first, so none starts on a configuration it cannot run safely.
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        raise refuse_configuration(str(exc)) from None
    # Then every line it logs, its own and its libraries', takes one format (shared/logs.py).
    configure_logging(settings.log_level, settings.log_format)


@contextlib.contextmanager
def database(
    settings: Settings, data_dir: Path | None, *, migrate_first: bool = True, unless_at_head: bool = False
) -> Iterator[tuple[str, str]]:
    """Yield (owner_url, app_url): the configured database, or an embedded one we start.
    `unless_at_head`: migrate only a database behind the code (see shared.db.migrate)."""
    if settings.database_url:
        run_async(reachable(settings.database_url))
        if migrate_first:
            migrate(settings.database_url, unless_at_head=unless_at_head)
        yield settings.database_url, settings.database_url
        return
    from shared.embedded import start_embedded

    directory = data_dir or settings.data_dir
    try:
        embedded = start_embedded(directory)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot use {directory} for the embedded database (CARELOG_DATA_DIR or --data-dir): "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    try:
        if migrate_first:
            migrate(embedded.owner_url, unless_at_head=unless_at_head)
        # We own this database, so the server runs as the append-only application role.
        yield embedded.owner_url, as_role(embedded.owner_url)
    finally:
        embedded.stop()


# How long a command waits for the configured database before calling its URL wrong.
CONNECT_TIMEOUT_SECONDS = 10.0


async def reachable(url: str) -> None:
    """Connect once, so a wrong host, port, password or database name is one line, not a traceback."""
    engine = create_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS), engine.connect():
            pass
    except Exception as exc:  # any failure to connect is the URL's (or the network's) fault
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
        raise ConfigurationError(f"cannot connect to CARELOG_DATABASE_URL ({where}): {reason}") from None
    finally:
        await engine.dispose()


DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Embedded PostgreSQL data directory")]


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    service: Annotated[str, typer.Option(help="all, or one of: " + ", ".join(SERVICE_NAMES))] = "all",
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Run migrations before serving (a job may do it instead)")
    ] = True,
    data_dir: DataDir = None,
) -> None:
    """Run the API (all services, or one) with its projectors and workers."""
    import uvicorn

    settings = get_settings()
    services = SERVICE_NAMES if service == "all" else (service,)
    try:
        service_specs(services)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    # A restart finds the schema at head nearly always: one query then stands for alembic's run.
    with database(settings, data_dir, migrate_first=migrate_first, unless_at_head=True) as (_owner, app_url):
        app = create_app(settings, services=services, database_url=app_url)
        log.info("serving", services=list(services), url=f"http://{host}:{port}")
        # No uvicorn access log: RequestObservation logs every request once, with its ids. Nor its
        # own logging setup: its lines go through ours (log_config=None).
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,
            log_level=settings.log_level,
            access_log=False,
            timeout_graceful_shutdown=5,
            # The HTTP parser stops buffering past the headers the app would refuse anyway (431);
            # the request line may be as long as one header.
            h11_max_incomplete_event_size=settings.max_request_header_bytes + settings.max_header_bytes,
            # X-Forwarded-For names the client only when a configured proxy sent it; uvicorn's own
            # default trusts 127.0.0.1, so any local client could pick its rate-limit bucket.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
        )


@cli.command("migrate")
def migrate_command(data_dir: DataDir = None) -> None:
    """Bring the database schema to the latest migration."""
    with database(get_settings(), data_dir):
        typer.echo("migrations at head")


@cli.command()
def verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A signed checkpoint (JSON) the log must still contain unchanged")
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            help="The agency's Ed25519 public key (base64); else CARELOG_CHECKPOINT_PUBLIC_KEY, else the key file's"
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first position that does not match."""
    settings = get_settings()
    expected: Checkpoint | None = None
    trusted = ""
    if checkpoint is not None:
        expected = _read_checkpoint(checkpoint)
        try:
            trusted = trusted_public_key(settings, public_key)  # never the key inside the file
        except ConfigurationError as exc:
            raise refuse_configuration(str(exc)) from None
    with database(settings, data_dir) as (_owner, app_url):
        result, at_checkpoint = run_async(_verify(app_url, expected.position if expected else None))
    typer.echo(json.dumps(result.__dict__))
    if not result.ok:
        typer.echo(f"chain broken at position {result.first_bad_position} ({result.reason})", err=True)
        raise typer.Exit(1)
    if expected is not None:
        if not signature_valid(expected, trusted):
            named = " (the checkpoint names another signing key)" if expected.public_key != trusted else ""
            typer.echo(f"checkpoint signature is not valid for the agency's key{named}", err=True)
            raise typer.Exit(1)
        if at_checkpoint != expected.head_hash:
            typer.echo(f"log rewritten: hash at position {expected.position} differs from the checkpoint", err=True)
            raise typer.Exit(1)
        typer.echo(f"checkpoint at position {expected.position} ({expected.signed_at}) holds")


def _read_checkpoint(path: Path) -> Checkpoint:
    try:
        found = Checkpoint(**json.loads(path.read_text()))
        base64.b64decode(found.signature, validate=True)
        return found
    except (OSError, ValueError, TypeError) as exc:
        typer.echo(f"{path} is not a checkpoint carelog wrote: {exc}", err=True)
        raise typer.Exit(2) from None


async def _verify(url: str, checkpoint_position: int | None) -> tuple[VerifyResult, str | None]:
    engine = create_engine(url, pool_size=1)
    try:
        with CommandProgress() as progress:
            result = await verify_chain(engine, progress=progress.phase("verifying the hash chain"))
        at = await hash_at(engine, checkpoint_position) if checkpoint_position is not None else None
        return result, at
    finally:
        await engine.dispose()


@cli.command("checkpoint")
def checkpoint_command(
    out: Annotated[Path | None, typer.Option(help="Write the signed checkpoint here (JSON)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Sign the current head of the log now and store the checkpoint."""
    settings = get_settings()
    try:
        key = signing_key(settings)
    except ConfigurationError as exc:
        raise refuse_configuration(str(exc)) from None
    with database(settings, data_dir) as (_owner, app_url):
        signed = run_async(_checkpoint(app_url, key))
    document = json.dumps(signed.as_json(), indent=2)
    if out:
        out.write_text(document + "\n")
    typer.echo(document)


async def _checkpoint(url: str, key: Any) -> Checkpoint:
    engine = create_engine(url, pool_size=1)
    try:
        return await take_checkpoint(engine, key, SystemClock().now())
    finally:
        await engine.dispose()


@cli.command()
def replay(
    projection: Annotated[str | None, typer.Option(help="Projector name; all when omitted")] = None,
    as_of: Annotated[
        datetime | None, typer.Option(help="Rebuild as the agency knew it at this instant (recorded_at <= T)")
    ] = None,
    to_position: Annotated[int | None, typer.Option(help="Rebuild up to this log position")] = None,
    schema: Annotated[
        str | None, typer.Option(help="Schema for a point-in-time rebuild (default asof_<timestamp>)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes replaying at once, each its own projectors (default: cores)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Rebuild projections from position 0: in place, or as of a past instant into their own schema."""
    known = [p.name for p in all_projectors(get_settings())]
    if projection is not None and projection not in known:
        typer.echo(f"carelog: no projection named {projection!r}; the projections are: {', '.join(known)}", err=True)
        raise typer.Exit(2)
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    schema = _replay_schema(as_of, to_position, schema)
    with database(get_settings(), data_dir) as (owner_url, app_url):
        _replay(
            owner_url if schema else app_url, projection, as_of, to_position, schema, workers or os.cpu_count() or 1
        )
    if schema:
        typer.echo(f"projections as of {as_of or f'position {to_position}'} are in schema {schema}")


SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _replay_schema(as_of: datetime | None, to_position: int | None, schema: str | None) -> str | None:
    """Where a replay writes: its own schema for a point in time (named after it unless given)."""
    if schema is None and (as_of is not None or to_position is not None):
        stamp = as_of.strftime("%Y%m%dt%H%M%S") if as_of else f"p{to_position}"
        schema = f"asof_{stamp}"
    if schema is not None and not SCHEMA_NAME.fullmatch(schema):
        raise typer.BadParameter("schema: lower-case letters, digits and _ only")
    return schema


def _replay(
    url: str, name: str | None, as_of: datetime | None, to_position: int | None, schema: str | None, workers: int
) -> None:
    """Every projector chosen, replayed in up to `workers` processes: projectors own disjoint tables,
    so each group is rebuilt by its own process, in its own transaction with its own checkpoints,
    over the same log up to the same position. Each group's tables are switched whole when its
    transaction commits; one group may commit before another, as live runners are apart."""
    projectors = [p for p in all_projectors(get_settings()) if name is None or p.name == name]
    if schema is not None:
        run_async(_prepare_schema(url, schema, [t for p in projectors for t in p.tables]))
    groups = replay_groups(projectors, workers)
    started = time.perf_counter()
    if len(groups) == 1:
        with CommandProgress() as progress:
            advance = progress.phase("replaying the log")
            position = run_async(_replay_group(url, [p.name for p in projectors], as_of, to_position, schema, advance))
    else:
        position = _replay_in_processes(url, groups, as_of, to_position, schema)
    seconds = time.perf_counter() - started
    for projector in projectors:
        typer.echo(f"{projector.name}: rebuilt to position {position}")
    # The words are read by the bench (bench/run.py) in either log format.
    log.info(f"replayed {position} positions in {seconds:.2f} s", positions=position, seconds=round(seconds, 2))


def _replay_in_processes(
    url: str, groups: list[list[Projector]], as_of: datetime | None, to_position: int | None, schema: str | None
) -> int:
    """Each group in its own process, over the log up to one head read before they start (whatever
    is appended meanwhile); the lowest position they all reached."""
    head = run_async(_head(url))
    target = head if to_position is None else min(head, to_position)
    # Forked before this process starts any thread (the progress display has one, and a thread
    # holding a lock at the fork would leave the copy locked for ever); each process opens its
    # own event loop and connections.
    with ProcessPoolExecutor(len(groups), mp_context=multiprocessing.get_context("fork")) as pool:
        done = [
            pool.submit(_replay_in_process, url, [p.name for p in group], as_of, target, schema) for group in groups
        ]
        with CommandProgress() as progress:
            advance = progress.phase("replaying the log (groups of projections)", total=len(done))
            for finished, _ in enumerate(as_completed(done), start=1):
                advance(finished)
        return min(future.result() for future in done)


def _replay_in_process(
    url: str, names: list[str], as_of: datetime | None, to_position: int | None, schema: str | None
) -> int:
    return run_async(_replay_group(url, names, as_of, to_position, schema, None))


async def _replay_group(
    url: str,
    names: list[str],
    as_of: datetime | None,
    to_position: int | None,
    schema: str | None,
    progress: Callable[[int, int], None] | None,
) -> int:
    projectors = [p for p in all_projectors(get_settings()) if p.name in names]
    settings_keys()
    engine = _replay_engine(url, schema)
    try:
        runner = ProjectorRunner(engine, projectors, batch_size=2000)
        return await runner.replay(projectors, to_position=to_position, as_of=as_of, progress=progress)
    finally:
        await engine.dispose()


def _replay_engine(url: str, schema: str | None) -> AsyncEngine:
    if schema is None:
        return create_engine(url, pool_size=2)
    # Unqualified names resolve to the new schema first; `events` still comes from public.
    return create_engine(url, pool_size=2, connect_args={"server_settings": {"search_path": f"{schema},public"}})


async def _head(url: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql.HEAD))).scalar_one())
    finally:
        await engine.dispose()


async def _prepare_schema(url: str, schema: str, tables: list[str]) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
            for table in [*tables, "projector_checkpoints"]:
                await conn.execute(text(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"))
            await conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {APP_ROLE}"))
            await conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {APP_ROLE}"))
    finally:
        await engine.dispose()


@cli.command()
def token(
    role: Annotated[Role, typer.Option(help="The role the token carries")],
    subject: Annotated[str, typer.Option(help="Who the caller is (worker id)")],
    household: Annotated[list[uuid.UUID] | None, typer.Option(help="Household of a carer")] = None,
    child: Annotated[list[uuid.UUID] | None, typer.Option(help="A child the token names")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in minutes")] = 480,
) -> None:
    """Mint a development token (HS256 with CARELOG_JWT_SECRET)."""
    settings = get_settings()
    if settings.is_production:
        typer.echo("refusing to mint development tokens in production", err=True)
        raise typer.Exit(2)
    typer.echo(
        mint_token(
            settings,
            role=role,
            subject=subject,
            household_ids=household,
            child_ids=child,
            ttl=timedelta(minutes=ttl),
        )
    )


@cli.command()
def demo(
    children: Annotated[int, typer.Option(help="Children in the agency")] = 100,
    households: Annotated[int, typer.Option(help="Fostering households")] = 40,
    seed: Annotated[int, typer.Option(help="Same seed and --until, same log")] = 7,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="The last day of the demo's year (default: today)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Load even into a log that already holds records")] = False,
    data_dir: DataDir = None,
) -> None:
    """Load a small, realistic agency through the real API, each record made on its day (a year
    ending on --until), into an empty log (--force to mix it into one that is not); each month is
    reported as it is recorded."""
    from bench.demo import DemoRefused, run_demo
    from shared.calendar import local_date

    settings = get_settings()
    if settings.is_production:
        typer.echo("refusing to load demo data in production", err=True)
        raise typer.Exit(2)

    def progress(line: str) -> None:
        typer.echo(f"demo: {line}", err=True)

    with database(settings, data_dir) as (_owner, app_url):
        try:
            summary = run_async(
                run_demo(
                    settings,
                    app_url,
                    seed=seed,
                    children=children,
                    households=households,
                    until=until.date() if until else local_date(SystemClock().now()),
                    force=force,
                    progress=progress,
                )
            )
        except DemoRefused as refused:
            typer.echo(f"carelog demo: {refused}", err=True)
            raise typer.Exit(CONFIGURATION_EXIT) from None
    typer.echo(summary)


@cli.command("export")
def export_command(
    child: Annotated[uuid.UUID, typer.Option("--child", help="The child whose whole record is exported")],
    format: Annotated[str, typer.Option("--format", help="json or pdf")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here (default: stdout for json, child-<id>.pdf)")] = None,
    as_of: Annotated[datetime | None, typer.Option(help="The record as the agency knew it at this instant")] = None,
    data_dir: DataDir = None,
) -> None:
    """Subject-access export: every event about the child, amendments beside what they correct."""
    if format not in ("json", "pdf"):
        raise typer.BadParameter("format: json or pdf")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    with database(get_settings(), data_dir) as (_owner, app_url):
        document = run_async(_export(app_url, child, format, as_of))
    if out is None and format == "pdf":
        out = Path(f"child-{child}.pdf")
    if out is None:
        sys.stdout.buffer.write(document + b"\n")
    else:
        out.write_bytes(document)
        typer.echo(f"wrote {out} ({len(document)} bytes)", err=True)


async def _export(url: str, child: uuid.UUID, format: str, as_of: datetime | None) -> bytes:
    from services.investigations import projections as investigations
    from services.investigations.rendering import export_pdf
    from shared.problems import Problem

    engine = create_engine(url, pool_size=1)
    store = EventStore(engine, pool_size=1, keys=settings_keys())
    try:
        with CommandProgress() as progress:
            reading = progress.phase("reading the record")
            try:
                export = await investigations.child_export(
                    store, child, as_of=as_of, late_entry_hours=get_settings().late_entry_hours
                )
            except Problem as exc:
                typer.echo(str(exc.detail if hasattr(exc, "detail") else exc), err=True)
                raise typer.Exit(1) from exc
            entries = len(export["entries"])
            reading(entries, entries)
            if format == "pdf":
                return export_pdf(export, progress.phase("rendering the PDF"))
            return investigations.canonical(export)
    finally:
        await store.stop()
        await engine.dispose()


@cli.command("report")
def report_command(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    as_of: Annotated[
        datetime | None, typer.Option(help="As the log stood at this instant (default: the month's close)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the canonical JSON here (default: stdout)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Monthly KPIs (docs/domain.md section 4) from the log alone: the same month, the same bytes."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    with database(get_settings(), data_dir) as (_owner, app_url):
        document = run_async(_report(app_url, month, as_of))
    if out is None:
        sys.stdout.buffer.write(document + b"\n")
    else:
        out.write_bytes(document)
        typer.echo(f"wrote {out} ({len(document)} bytes)", err=True)


async def _report(url: str, month: str, as_of: datetime | None) -> bytes:
    from services.investigations import projections as investigations
    from shared.problems import Problem

    engine = create_engine(url, pool_size=1)
    store = EventStore(engine, pool_size=1, keys=settings_keys())
    try:
        with CommandProgress() as progress:
            computing = progress.phase(f"computing the figures of {month}")  # one query: no count to show
            try:
                report = await investigations.kpi_report(
                    store, month, now=SystemClock().now(), as_of=as_of, close_days=get_settings().kpi_close_days
                )
            except Problem as exc:
                typer.echo(str(exc.detail if hasattr(exc, "detail") else exc), err=True)
                raise typer.Exit(2) from exc
            computing(1, 1)
        return investigations.canonical(report)
    finally:
        await store.stop()
        await engine.dispose()


retention_cli = typer.Typer(help="Retention: what falls due, and crypto-shredding what is past its date.")
cli.add_typer(retention_cli, name="retention")


@retention_cli.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what is due; destroy nothing")] = False,
    data_dir: DataDir = None,
) -> None:
    """Destroy the keys of records past their retention date and not held (docs/domain.md section 5)."""
    with database(get_settings(), data_dir) as (_owner, app_url):
        outcome = run_async(_retention_run(app_url, dry_run))
    verb = "due" if dry_run else "destroyed"
    for row in outcome.records:
        typer.echo(f"{verb}: {row.kind.value} {row.subject_id} kept until {row.retain_until} under {row.rule}")
    for worker in outcome.staff:
        typer.echo(f"{verb}: staff {worker.worker_id} kept until {worker.retain_until} under {worker.rule}")
    if outcome.access_log is not None:
        log = outcome.access_log
        typer.echo(
            f"{'due' if dry_run else 'removed'}: access log, {log.rows_past_policy} row(s) recorded before "
            f"{log.recorded_before} under {log.rule}, {log.rows_of_destroyed_records} naming a destroyed child"
        )
    typer.echo(f"{len(outcome.records) + len(outcome.staff)} record(s) {verb}", err=True)


async def _retention_run(url: str, dry_run: bool) -> Any:
    from services.retention.destroy import run
    from shared.calendar import local_date

    engine = create_engine(url, pool_size=2)
    store = EventStore(engine, pool_size=2, keys=settings_keys())
    try:
        today = local_date(SystemClock().now())
        settings = get_settings()
        projectors = all_projectors(settings)
        with CommandProgress() as progress:
            return await run(
                store,
                projectors,
                today,
                actor="carelog-retention",
                dry_run=dry_run,
                practice=settings.retention,
                progress=progress,
            )
    finally:
        await store.stop()
        await engine.dispose()


def main() -> None:
    try:
        cli()
    except ConfigurationError as exc:  # found later than the first read, e.g. by create_app
        raise SystemExit(_configuration_line(str(exc))) from None
    except ValidationError as exc:  # a service's own settings (CARELOG_ too)
        raise SystemExit(_configuration_line(describe(exc))) from None


def _configuration_line(reason: str) -> int:
    typer.echo(f"carelog: configuration error: {reason}", err=True)
    return CONFIGURATION_EXIT


if __name__ == "__main__":
    main()
