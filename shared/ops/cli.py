"""Ops CLI: ``python -m shared.ops.cli funnel --from D --to D`` (backfill against MONGODB_URI, or the embedded
engine), ``report --date D [--json] [--html FILE]``, ``smoke --stage prod --region ap-shanghai`` (post-deploy
check of every deployed function through the SCF Invoke API)."""

from __future__ import annotations

import argparse
import os
import sys

from shared.funnel.definition import parse_date
from shared.funnel.report import html_report, json_rows, text_report
from shared.funnel.run import requested_days, run_funnel
from shared.funnel.service import funnel_store
from shared.funnel.settings import FunnelSettings
from shared.platform.clock import SystemClock
from shared.platform.errors import ShareFunnelError


def _funnel(args: argparse.Namespace) -> int:
    clock = SystemClock()
    days = requested_days(args.date_from, args.date_to, clock.now(), ("--from", "--to"))  # the handler's rule
    settings = FunnelSettings.from_env()
    result = run_funnel(funnel_store(settings), clock, settings, days, "cli")
    print(
        f"funnel {result['from']} … {result['to']}: {result['rows']} rows in {result['durationMs']} ms "
        f"(run {result['runId']}, checksum {result['checksum'][:12]})"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    date = parse_date(args.date, "--date").isoformat()
    rows = funnel_store(FunnelSettings.from_env()).rows_for(date)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as out:
            out.write(html_report(date, rows))
        print(f"wrote {args.html}")
    if args.json:
        print(json_rows(rows))
    elif not args.html:
        print(text_report(date, rows))
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    """The operator's multi-day dashboard, written to a local file (the same page dailyFunnel renders)."""
    from shared.funnel.dashboard import build_dashboard, default_range

    clock = SystemClock()
    first, last = default_range(clock.now(), args.days)
    if args.date_from or args.date_to:
        days = requested_days(
            args.date_from or first.isoformat(), args.date_to or last.isoformat(), clock.now(), ("--from", "--to")
        )
        first, last = days[0], days[-1]
    settings = FunnelSettings.from_env()
    page, model = build_dashboard(funnel_store(settings), settings, first, last, args.lang)
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(page)
    print(f"wrote {args.out}: {model['from']} … {model['to']}, {len(page) / 1024:.0f} KB")
    return 0


def _rewards(args: argparse.Namespace) -> int:
    """Rewards per inviter and the programme's totals: liability (pending + approved + reserved by an open payout),
    paid, reversed, clawbacks."""
    from shared.platform import config, db
    from shared.platform.money import yuan
    from shared.rewards import STATES
    from shared.rewards.settings import RewardSettings
    from shared.rewards.store import MongoRewardStore

    settings, common = RewardSettings.from_env(), config.settings()
    store = MongoRewardStore(db.database(common), common.collections, settings.order_source, db.orders_database(common))
    states = STATES  # the ledger's own, spelled once (shared/rewards/ledger.py)
    table: dict[str, dict[str, int]] = {}  # inviter -> state -> whole fen
    for row in store.totals_by_inviter():
        table.setdefault(row["_id"]["inviter"], dict.fromkeys(states, 0))[row["_id"]["state"]] += int(row["fen"])
    total = {state: sum(r[state] for r in table.values()) for state in states}
    print(
        f"Rewards ({settings.programme}): liability {yuan(total['pending'] + total['approved'] + total['reserved'])} "
        f"(pending {yuan(total['pending'])}, approved {yuan(total['approved'])}, being paid "
        f"{yuan(total['reserved'])}), paid {yuan(total['paid'])}, "
        f"reversed {yuan(total['reversed'])}, clawbacks {yuan(total['clawback'])}"
    )
    print("  " + f"{'inviter':<10}" + "".join(f"{s:>11}" for s in states))
    for inviter, row in sorted(table.items(), key=lambda item: -(item[1]["approved"] + item[1]["pending"])):
        print("  " + f"{inviter:<10}" + "".join(f"{yuan(row[s]):>11}" for s in states))
    return 0


def _admin_token(args: argparse.Namespace) -> int:
    """Print a token for the functions' admin calls (``adminToken``), granting only the scopes named."""
    from shared.platform.admin import ENV_ADMIN_TOKEN_SECRET, make_admin_token

    secret = os.environ.get(ENV_ADMIN_TOKEN_SECRET)
    if not secret or len(secret) < 32:
        print(f"set {ENV_ADMIN_TOKEN_SECRET} (the functions' own, at least 32 characters)", file=sys.stderr)
        return 2
    if not 0 < args.hours <= 24:
        print("--hours must be more than 0 and at most 24", file=sys.stderr)
        return 2
    print(make_admin_token(secret, args.scope, ttl_seconds=int(args.hours * 3600)))
    return 0


def _smoke(args: argparse.Namespace) -> int:
    from shared.ops.deployment import CLOUDBASE_ENV, FUNCTIONS
    from shared.ops.scf_deploy import ENV_ENDPOINT, DeployError, deploy_environment
    from shared.ops.smoke import run_smoke

    env = deploy_environment(args.stage)  # the deploy's own values: environment, .env.<stage>, .env
    namespace = args.namespace or env.get(CLOUDBASE_ENV)
    if not namespace:
        print(
            f"set {CLOUDBASE_ENV} (the CloudBase environment the functions were deployed to) or --namespace",
            file=sys.stderr,
        )
        return 2
    names = {f.name: f.name for f in FUNCTIONS}  # plain names in the environment, as cloudbaserc.json has them
    region = args.region or env.get("TENCENTCLOUD_REGION") or "ap-shanghai"
    try:
        results = run_smoke(
            names, region, namespace, args.endpoint or env.get(ENV_ENDPOINT) or None, args.admin_token, env
        )
    except DeployError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for result in results:
        timing = f" in {result.duration_ms} ms" if result.duration_ms is not None else ""
        print(f"{'PASS' if result.ok else 'FAIL'}  {namespace}/{names[result.function]:<14} {result.detail}{timing}")
        if result.platform:  # the first thing to read on a real account: names only, never values
            report, database = result.platform, result.platform.get("database") or {}
            print(f"      context keys: {', '.join(report.get('contextKeys') or []) or '(none)'}")
            print(f"      context environment keys: {', '.join(report.get('environmentKeys') or []) or '(none)'}")
            print(f"      role credentials: {', '.join(report.get('roleCredentials') or []) or '(none: no role?)'}")
            print(f"      identity source: {report.get('identitySource') or '(none: SCF Invoke carries no user)'}")
            reach = "reachable" if database.get("reachable") else f"NOT reachable ({database.get('error')})"
            print(f"      database: {database.get('backend')}, {reach}")
    _first_deployment(args.stage, namespace, region, env, results)
    return 0 if all(r.ok for r in results) else 1


def _first_deployment(stage: str, namespace: str, region: str, env: dict[str, str], results: list) -> None:
    """The facts no emulator can settle, read off this environment (docs/deploying.md § first real deployment)."""
    import json

    from shared.ops.scf_deploy import deploy_record_path

    print("What to check on the first real deployment (read off this environment):")
    path = deploy_record_path(stage)
    record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for name in sorted(record):
        print(f"  upload channel of {name}: {record[name]['channel']} ({record[name]['at']})")
    if not record:
        print(f"  upload channel: no deploy recorded on this machine ({path.name})")
    contact = next(
        (
            (r.platform.get("database") or {}).get("firstContact")
            for r in results
            if r.platform and (r.platform.get("database") or {}).get("firstContact")
        ),
        None,
    )
    if contact:
        ready = contact.get("newCollectionReadyS")
        print(
            "  a new collection took data after "
            + (f"{ready} s" if ready is not None else "— (the probe's collection existed already)")
        )
        print(f"  dates round-trip through PutItem and find: {'yes' if contact.get('datesRoundTrip') else 'NO'}")
        print(f"  numbers round-trip ($inc, count, delete): {'yes' if contact.get('numbersRoundTrip') else 'NO'}")
        for action, keys in (contact.get("answerShapes") or {}).items():
            print(f"  answer of {action}: {', '.join(keys) or '(empty)'}")
        print(f"  Tag sent: {contact.get('tag') or 'none (EnvId alone, as Tencent toolkit sends it)'}")
    else:
        print("  database dialect: not probed (no function reported a CloudBase first contact)")
    print(f"  document databases of {namespace}: {', '.join(_document_databases(namespace, region, env)) or '?'}")
    mode = env.get("PAYOUT_MODE") or "manual"
    print(f"  payouts: PAYOUT_MODE={mode}")
    if mode == "wechatpay":
        notify = env.get("WECHATPAY_NOTIFY_URL")
        print(
            f"  WeChat Pay callbacks go to {notify}: an HTTP access route to rewards must answer there"
            if notify
            else "  WECHATPAY_NOTIFY_URL is not set: no callbacks; the timer pass finishes every payout"
        )
        print(
            "  first payout: withdraw the smallest amount as a test user, confirm, and read rewards' log for "
            "payout_state paid (docs/deploying.md § payouts)"
        )


def _document_databases(namespace: str, region: str, env: dict[str, str]) -> list[str]:
    """DescribeEnvs → Databases[].InstanceId with the deployer's keys (several: set TCB_DATABASE_TAG)."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.tcb.v20180608 import models

    from shared.ops.scf_deploy import ENV_TCB_ENDPOINT, DeployError, credential, tcb_client

    try:
        client = tcb_client(credential(env), region, env.get(ENV_TCB_ENDPOINT) or None)
        request = models.DescribeEnvsRequest()
        request.EnvId = namespace
        envs = client.DescribeEnvs(request).EnvList or []
    except (DeployError, TencentCloudSDKException, OSError) as exc:  # a report line, not a check: say why
        return [f"(DescribeEnvs failed: {type(exc).__name__})"]
    ids = [d.InstanceId for e in envs if e.EnvId == namespace for d in (e.Databases or []) if d.InstanceId]
    if len(ids) > 1 and not env.get("TCB_DATABASE_TAG"):
        ids.append("— several: set TCB_DATABASE_TAG to the one wx.cloud.database() uses")
    return ids


def _day_count(value: str) -> int:
    from shared.funnel.settings import MAX_BACKFILL_DAYS

    if not value.isdigit() or not 1 <= int(value) <= MAX_BACKFILL_DAYS:
        raise argparse.ArgumentTypeError(f"a number of days from 1 to {MAX_BACKFILL_DAYS}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.ops.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    funnel = commands.add_parser("funnel", help="compute report rows for a range of days (idempotent)")
    funnel.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
    funnel.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD")
    funnel.set_defaults(run=_funnel)
    report = commands.add_parser("report", help="show a day's report")
    report.add_argument("--date", required=True, metavar="YYYY-MM-DD")
    report.add_argument("--json", action="store_true", help="print the rows as JSON")
    report.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    report.set_defaults(run=_report)
    dashboard = commands.add_parser("dashboard", help="write the multi-day dashboard page")
    dashboard.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD")
    dashboard.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD")
    dashboard.add_argument(
        "--days", type=_day_count, default=14, help="without --from/--to: the last N days (default 14)"
    )
    dashboard.add_argument("--lang", choices=("zh", "en"), default="zh")
    dashboard.add_argument("--out", default="dashboard.html")
    dashboard.set_defaults(run=_dashboard)
    rewards = commands.add_parser("rewards", help="rewards per inviter and the programme's liability")
    rewards.set_defaults(run=_rewards)
    smoke = commands.add_parser("smoke", help="invoke every deployed function with a harmless probe")
    smoke.add_argument("--stage", default="dev", help="reads .env.<stage> over .env, as the deploy does")
    smoke.add_argument("--region", help="default: TENCENTCLOUD_REGION or ap-shanghai")
    smoke.add_argument("--namespace", help="the CloudBase environment id (default: TCB_ENV)")
    smoke.add_argument("--endpoint", help="SCF API endpoint (default: SCF_API_ENDPOINT or scf.tencentcloudapi.com)")
    smoke.add_argument("--admin-token", help="also check genWxacode's admin path (expects NOT_FOUND)")
    smoke.set_defaults(run=_smoke)
    token = commands.add_parser("admin-token", help="mint an admin token naming its scopes (ADMIN_TOKEN_SECRET)")
    token.add_argument("--scope", action="append", required=True, choices=("read", "operate", "pay"))
    token.add_argument("--hours", type=float, default=1.0, help="how long it works (default 1 hour, at most 24)")
    token.set_defaults(run=_admin_token)
    args = parser.parse_args(argv)
    if args.command not in ("smoke", "admin-token") and not os.environ.get("MONGODB_URI"):
        print(
            "note: MONGODB_URI is not set, so this runs on a new, empty in-memory database (the demo's is gone "
            "when it exits; its report pages are in demo-output/)",
            file=sys.stderr,
        )
    try:
        return args.run(args)
    except ShareFunnelError as err:
        print(f"{err.code}: {err.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
