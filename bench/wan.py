"""Township offices over the e-government network: the program at 0 and 20 ms round trip to PostgreSQL.

python bench/wan.py [--rtt 20] [--residents 5000] [--repeat 3]

A delaying proxy (bench/latency_proxy.py) sits in front of the PostgreSQL at 127.0.0.1:5432 (or
$PENSION_TEST_PG); a demo county is written into a scratch schema. Everyday CLI commands run as a clerk
would run them (a new process each), timed directly and through the proxy, with the round trips each needed
(target: each at most 0.3 s slower at 20 ms than direct). Then the GUI's common actions, driven in-process as
a township clerk (jingban01) through the proxy at 0 ms and at --rtt (bench/wan_gui.py), with the statements
and round trips of each (targets: an interactive action under 0.5 s at 20 ms; an import within 2x its time
at 0 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency_proxy import LatencyProxy  # noqa: E402

CLI_COMMANDS: list[tuple[str, list[str]]] = [
    ("stats --year 2020", ["stats", "--year", "2020", "--json"]),
    ("refunds list", ["refunds", "list", "--json"]),
    ("handoff list", ["handoff", "list", "--json"]),
    ("special-pending --year 2020", ["special-pending", "--year", "2020", "--json"]),
]


def via(url: str, port: int) -> str:
    parsed = urlparse(url)
    return url.replace(f"{parsed.hostname}:{parsed.port or 5432}", f"127.0.0.1:{port}", 1)


def run_cli(url: str, user: str, password: str, args: list[str]) -> float:
    env = {**os.environ, "PENSION_PASSWORD": password, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--db", url, "--user", user, *args],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def prepare(residents: int) -> tuple[str, str, str, str]:
    """A demo county in a scratch PostgreSQL schema; returns (owner url, schema, user, password)."""
    from bench.import_roster import pg_url
    from core.auth import ADMIN, Actor
    from core.database import close_database, open_database
    from core.demo import create_demo
    from core.progress import run

    url, schema = pg_url()
    open_database(url)
    try:
        run(create_demo(Actor("bench", ADMIN, None, "bench"), residents=residents))
    finally:
        close_database()
    return url, schema, "admin", "demo12345"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rtt", type=float, default=20, help="round trip in milliseconds")
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="only the GUI's actions")
    parser.add_argument("--no-gui", action="store_true", help="only the CLI commands")
    args = parser.parse_args()
    from bench.import_roster import drop_pg

    started = time.perf_counter()
    url, schema, user, password = prepare(args.residents)
    print(f"demo county of {args.residents:,} residents in {time.perf_counter() - started:.1f} s")
    upstream = urlparse(url)
    try:
        with LatencyProxy(upstream_host=upstream.hostname or "127.0.0.1", upstream_port=upstream.port or 5432,
                          rtt_ms=args.rtt) as proxy:  # fmt: skip
            proxied = via(url, proxy.port)
            if not args.no_cli:
                cli_table(url, proxied, proxy, user, password, args)
            if not args.no_gui:
                gui_table(proxied, proxy, args.rtt, "jingban01")
    finally:
        drop_pg(schema)
    return 0


def cli_table(url: str, proxied: str, proxy: LatencyProxy, user: str, password: str, args) -> None:  # type: ignore[no-untyped-def]
    print(f"\n{'CLI command':<30} {'round trips':>11} {'0 ms':>8} {f'{args.rtt:g} ms':>8} {'extra':>8}")
    for label, command in CLI_COMMANDS:
        run_cli(url, user, password, command)  # warm the caches once
        direct = statistics.median(run_cli(url, user, password, command) for _ in range(args.repeat))
        proxy.reset()
        run_cli(proxied, user, password, command)
        trips = proxy.reset()
        slow = statistics.median(run_cli(proxied, user, password, command) for _ in range(args.repeat))
        flag = "" if slow - direct <= 0.3 else "  (over the 0.3 s target)"
        print(f"{label:<30} {trips:>11} {direct:7.2f}s {slow:7.2f}s {slow - direct:+7.2f}s{flag}")


def gui_table(proxied: str, proxy: LatencyProxy, rtt: float, clerk: str) -> None:
    import tempfile

    from bench.wan_gui import run_actions

    with tempfile.TemporaryDirectory() as tmp:
        results = run_actions(proxy, proxied, clerk, "admin", "demo12345", rtt, Path(tmp))
    print(
        f"\n{'GUI action (township clerk)':<34} {'statements':>10} {'round trips':>11} {'0 ms':>7} {f'{rtt:g} ms':>7}"
    )
    for r in results:
        slow, fast = r.seconds[rtt], r.seconds[0.0]
        if r.interactive:
            flag = "" if slow < 0.5 else "  (over 0.5 s)"
        else:
            flag = f"  {slow / fast:.1f}x" + ("" if slow <= 2 * fast else " (over 2x)")
        print(
            f"{r.label:<34} {r.statements[rtt]:>10} {r.round_trips[rtt]:>11} {fast:6.2f}s {slow:6.2f}s{flag}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
