"""``make demo``: a simulated share campaign through the real recordShare handler on the embedded engine.

Four sharers share a product over chat, a poster code, Moments and the CloudBase tutorial's own link
(``?id=…&inviter=…&channel=share``); dozens of invitees land through links and scanned codes over several days,
with re-opens, a self-invite, organic visitors who are invited later, Moments single-page visits without identity,
and forged or malformed requests. Ends with a summary, the sharers' Mini Program Codes (genWxacode against the
WeChat emulator), and the daily funnel over the campaign with orders (dailyFunnel) plus one HTML report per day.

Everything goes to ``demo-output/`` (or ``DEMO_OUTPUT``): the function logs, the codes and the report pages.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import pathlib
import random
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
for _name in ("MONGODB_URI", "DATABASE", "TCB_API_ENDPOINT", "ORDERS_SOURCE"):
    os.environ.pop(_name, None)  # the demo runs on the embedded engine, or (--cloudbase) on the tcb API emulator
CLOUDBASE = "--cloudbase" in sys.argv
TCB = None
if CLOUDBASE:
    # The environment's own database as the functions reach it on the platform: the tcb API emulator (over the
    # embedded engine), TC3-signed requests over real HTTP, every request checked against Tencent's SDK models.
    from tools.tcb_api_emulator import TcbApiEmulator, backing_database

    TCB = TcbApiEmulator(backing_database(), env_id="prod-4g8x2k1d9e0f3a5b")
    TCB.start()
    TCB.create_table("orders")  # the mini program's own collection, made in the console
    os.environ.update(
        DATABASE="cloudbase",
        TCB_ENV=TCB.env_id,
        TCB_API_ENDPOINT=TCB.endpoint,
        TENCENTCLOUD_SECRETID=TCB.secret_id,
        TENCENTCLOUD_SECRETKEY=TCB.secret_key,
        TENCENTCLOUD_SESSIONTOKEN=TCB.session_token or "",
    )

from shared.platform import (
    db,
    instance,
    log,
)
from shared.platform.clock import FixedClock
from shared.sharing.scene import encode_scene
from tools.wxclient import load_handler, openid_for, scf_context

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PRODUCT = "tea-gift-box"
outcomes: collections.Counter[str] = collections.Counter()


def shown(path: pathlib.Path) -> str:
    """A path as the reader would type it: relative to the repository when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def call(handler, event, user):
    response = handler.main_handler(event, scf_context(openid_for(user) if user else None))
    if response["ok"]:
        key = "recorded" if response.get("recorded") else response.get("reason") or "shared"
    else:
        key = response["error"]["code"]
    outcomes[key] += 1
    return response


def main() -> None:
    out_dir = pathlib.Path(os.environ.get("DEMO_OUTPUT") or ROOT / "demo-output")
    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = out_dir / "functions.log"
    file_handler = logging.FileHandler(log_file, mode="w", encoding="utf-8")
    file_handler.setFormatter(log.JsonFormatter())
    log.logger().handlers[:] = [file_handler]  # the summary goes to the terminal, JSON logs to a file
    rng = random.Random(20261121)
    clock = FixedClock(dt.datetime(2026, 11, 18, 9, 30, tzinfo=SHANGHAI))
    instance.use_clock(clock)
    from tools.wechat_emulator import WeChatEmulator

    emulator = WeChatEmulator()  # WeChat for group cloudIDs (recordShare) and Mini Program Codes (genWxacode)
    emulator.start()
    os.environ.update(
        {"WECHAT_APPID": emulator.appid, "WECHAT_APPSECRET": emulator.secret, "WECHAT_API_BASE": emulator.base_url}
    )
    try:
        campaign(emulator, clock, rng, out_dir, log_file)
        if TCB is not None:
            print(
                f"\nCloudBase database (tcb API emulator): {sum(TCB.requests.values())} API requests "
                f"({', '.join(f'{action} {n}' for action, n in sorted(TCB.requests.items()))}); commands by type: "
                f"{', '.join(f'{kind} {n}' for kind, n in sorted(TCB.commands.items()))}"
            )
    finally:
        emulator.stop()
        if TCB is not None:
            TCB.stop()


def campaign(emulator, clock, rng, out_dir, log_file) -> None:
    handler = load_handler("recordShare")

    engine = "the CloudBase database (tcb API emulator)" if CLOUDBASE else "the embedded engine"
    print("Share Funnel demo: a share campaign for product", PRODUCT, "on", engine, "\n")
    codes = {}
    start = dt.datetime(2026, 11, 18, 10, 0, tzinfo=SHANGHAI)
    for sharer, channel in (("alice", "chat"), ("bob", "poster"), ("carol", "timeline"), ("dave", "share")):
        shared = call(
            handler,
            {"action": "share", "productId": PRODUCT, "channel": channel, "page": "pages/product/product"},
            sharer,
        )
        codes[sharer] = shared["inviterCode"]
        where = shared["path"] if channel != "timeline" else "timeline query " + shared["query"]
        print(f"  {sharer:<6} shares via {channel:<8} code {shared['inviterCode']}  {where}")
    poster_scene = encode_scene(codes["bob"], PRODUCT, "poster")
    print(f"  bob's poster Mini Program Code carries scene {poster_scene!r} ({len(poster_scene)} chars)\n")

    invitees = [f"guest{i:02d}" for i in range(40)]
    rng.shuffle(invitees)
    landings: list[tuple[str | None, dict[str, Any]]] = []
    groups = ("tea-lovers", "office-lunch")
    for index, guest in enumerate(invitees[:16]):  # alice's chat cards: single chats, and two WeChat groups
        event: dict[str, Any] = {
            "query": {"id": PRODUCT, "i": codes["alice"], "c": "chat"},
            "launchScene": 1007 if index % 3 else 1044,
        }
        if index % 3 == 0:  # opened from a group: the kit sends the cloudID of wx.getGroupEnterInfo
            event["groupCloudID"] = ("group", guest, groups[index % 2])
            event["chatType"] = 3
        landings.append((guest, event))
    for index, guest in enumerate(invitees[16:28]):  # bob's poster: scans, long-press, album
        landings.append((guest, {"query": {"scene": poster_scene}, "launchScene": (1047, 1048, 1049)[index % 3]}))
    for guest in invitees[28:34]:  # an old printed poster with the seed's scene format
        landings.append((guest, {"query": {"scene": f"i%3D{codes['bob']}%26p%3D{PRODUCT}"}, "launchScene": 1047}))
    for guest in invitees[34:40]:  # carol's Moments post: 1154 has no identity, then 1155 opens the app
        landings.append((None, {"query": {"id": PRODUCT, "i": codes["carol"], "c": "timeline"}, "launchScene": 1154}))
        landings.append((guest, {"query": {"id": PRODUCT, "i": codes["carol"], "c": "timeline"}, "launchScene": 1155}))
    for guest in [f"reader{i}" for i in range(5)]:  # dave follows the tutorial: its own link, channel=share
        landings.append(
            (guest, {"query": {"id": PRODUCT, "inviter": codes["dave"], "channel": "share"}, "launchScene": 1007})
        )
    organic = [f"walkin{i}" for i in range(4)]
    for visitor in organic:  # organic visitors first, invited by alice later: landings, but not new users
        landings.insert(0, (visitor, {"query": {"id": PRODUCT}, "launchScene": 1001}))
        landings.append((visitor, {"query": {"id": PRODUCT, "i": codes["alice"], "c": "chat"}, "launchScene": 1007}))
    for guest in rng.sample(invitees[:16], 8):  # re-opens of the same chat card: duplicates
        landings.append((guest, {"query": {"id": PRODUCT, "i": codes["alice"], "c": "chat"}, "launchScene": 1007}))
    landings.append(("alice", {"query": {"id": PRODUCT, "i": codes["alice"], "c": "chat"}, "launchScene": 1007}))

    new_users: collections.Counter[str] = collections.Counter()
    sharers = list(codes)
    step = dt.timedelta(minutes=97)
    days = (start + step * (len(landings) - 1)).date() - start.date()
    print(
        f"A {days.days + 1}-day campaign: {len(landings)} landings "
        f"from {start:%Y-%m-%d} to {start + step * (len(landings) - 1):%Y-%m-%d} (Asia/Shanghai)\n"
    )
    for position, (user, event) in enumerate(landings):
        clock.set(start + step * position)
        if position % 6 == 5:  # sharers keep sharing during the campaign: share intents on every day
            sharer = sharers[position % len(sharers)]
            call(
                handler,
                {
                    "action": "share",
                    "productId": PRODUCT,
                    "channel": ("chat", "poster", "timeline", "share")[sharers.index(sharer)],
                    "page": "pages/product/product",
                },
                sharer,
            )
        if isinstance(event.get("groupCloudID"), tuple):  # issued now: a cloudID lives five minutes
            _, guest, group = event["groupCloudID"]
            event = dict(event, groupCloudID=emulator.issue_group_cloud_id(openid_for(guest), opengid=f"demo-{group}"))
        response = call(handler, {"action": "land", "page": "pages/product/product", **event}, user)
        if response.get("newUser"):
            new_users[response["attributedTo"]] += 1

    database = db.database()
    for code in codes.values():  # what callers were told agrees with what was stored
        stored = database.share_events.count_documents({"inviter": code, "newUser": True})
        assert new_users[code] == stored, (code, new_users[code], stored)

    print("Attacks and mistakes:")
    forged = call(
        handler,
        {
            "query": {"id": PRODUCT, "i": codes["alice"]},
            "launchScene": 1007,
            "openid": openid_for("victim"),
            "invitee": openid_for("victim"),
            "userInfo": {"openId": openid_for("victim")},
        },
        "mallory",
    )
    print(f"  forged invitee in client data       -> recorded for the real caller only: recorded={forged['recorded']}")
    unknown = call(handler, {"query": {"id": PRODUCT, "i": "Zz9Yy8"}, "launchScene": 1007}, "mallory")
    print(f"  made-up inviter code                 -> {unknown['error']['code']}")
    injection = call(handler, {"query": {"id": {"$gt": ""}, "i": codes["alice"]}}, "mallory")
    print(f"  operator injection in the query      -> {injection['error']['code']} ({injection['error']['message']})")
    no_identity = call(handler, {"query": {"id": PRODUCT, "i": codes["alice"]}, "openid": openid_for("mallory")}, None)
    print(f"  call without platform identity       -> {no_identity['error']['code']}\n")

    print("Per sharer (from the database):")
    print(
        f"  {'sharer':<7}{'code':<9}{'landings':>9}{'new users':>11}{'by chat':>9}{'group':>7}{'scan':>6}{'moments':>9}"
    )
    for sharer, code in codes.items():
        records = list(database.share_events.find({"inviter": code}))
        entries = collections.Counter(r["entry"] for r in records)
        print(
            f"  {sharer:<7}{code:<9}{len(records):>9}{sum(r['newUser'] for r in records):>11}"
            f"{entries['chat']:>9}{entries['group']:>7}{entries['scan']:>6}{entries['timeline']:>9}"
        )

    print("\nResponses:", ", ".join(f"{key} {count}" for key, count in sorted(outcomes.items())))
    print(
        f"Database: {database.users.count_documents({})} users, {database.share_events.count_documents({})} landing "
        f"records, {database.share_intents.count_documents({})} share intents "
        f"(engine: embedded, database {database.name!r})"
    )
    print(f"Function logs (one JSON object per line): {shown(log_file)}")
    grouped = database.share_events.count_documents({"group": {"$exists": True}})
    print(
        f"Groups: {grouped} landings opened from {len(database.share_events.distinct('group.alias'))} WeChat groups "
        f"(resolved server-side through getopendata; shown by alias)"
    )
    generate_codes(codes, out_dir, emulator)
    daily_funnel(database, clock, rng, out_dir)
    payouts(codes, clock)
    db.reset()


def generate_codes(codes, out_dir, emulator) -> None:
    """genWxacode for each sharer's poster, against the local WeChat emulator, stored in a local folder."""
    # Codes and posters in a local folder; avatars the kit uploaded live in CloudBase storage (the emulator's).
    os.environ.update(
        {"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(out_dir / "codes"), "TCB_ENV": emulator.tcb_env}
    )
    if not CLOUDBASE:
        os.environ["DATABASE"] = "embedded"  # TCB_ENV names the storage's environment here, not a database
    handler = load_handler("genWxacode")
    print("\nMini Program Codes (genWxacode against the local WeChat emulator):")
    for sharer in codes:
        first = handler.main_handler(
            {"productId": PRODUCT, "page": "pages/product/product"},
            scf_context(openid_for(sharer), function_name="genWxacode"),
        )
        again = handler.main_handler(
            {"productId": PRODUCT, "page": "pages/product/product"},
            scf_context(openid_for(sharer), function_name="genWxacode"),
        )
        assert first["ok"] and again["cached"], (first, again)
        print(f"  {sharer:<6} scene {first['scene']:<24} {first['contentType']:<11} {first['fileID']}")
    print(
        f"  WeChat calls: {emulator.calls['getwxacodeunlimit']} codes, {emulator.calls['stable_token']} token "
        f"request(s); the second request per sharer was served from the cache. Files: "
        f"{shown(out_dir / 'codes')}/"
    )
    make_poster(next(iter(codes)), handler, out_dir, emulator)


def make_poster(sharer: str, handler: Any, out_dir: pathlib.Path, emulator: Any) -> None:
    """The sharer chooses an avatar and nickname (the kit uploads the avatar to CloudBase storage: here the WeChat
    emulator's), then asks for their campaign poster twice: rendered once, then served from the cache."""
    from tools.poster_preview import sample_avatar

    path = f"share-funnel/avatars/{sharer}.jpg"
    emulator.files[path] = sample_avatar()
    avatar = f"cloud://{emulator.tcb_env}.{emulator.tcb_bucket}/{path}"
    saved = load_handler("recordShare").main_handler(
        {"action": "profile", "nickname": "小明同学", "avatarFileID": avatar}, scf_context(openid_for(sharer))
    )
    assert saved["ok"], saved
    codes_before = emulator.calls["getwxacodeunlimit"]
    event = {"action": "poster", "productId": PRODUCT, "page": "pages/product/product"}
    first = handler.main_handler(event, scf_context(openid_for(sharer), function_name="genWxacode"))
    again = handler.main_handler(event, scf_context(openid_for(sharer), function_name="genWxacode"))
    assert first["ok"] and again["cached"] and again["fileID"] == first["fileID"], (first, again)
    file = out_dir / "codes" / first["fileID"].removeprefix("local://")
    print(
        f"\nCampaign poster (the default template, {first['width']}x{first['height']}, {file.stat().st_size // 1024} KB):"
        f" {shown(file)}\n  {sharer} chose an avatar and a nickname; their code came from the cache "
        f"({emulator.calls['getwxacodeunlimit'] - codes_before} new WeChat codes); the second request was a cache hit."
    )


def daily_funnel(database, clock, rng, out_dir) -> None:
    """Orders in the app's own collection (some refunded), then dailyFunnel as an admin over the campaign's
    days, a terminal summary per day and the HTML report of the busiest day."""
    from shared.funnel.definition import shanghai_date
    from shared.funnel.report import html_report

    landings = list(database.share_events.find({}, {"invitee": 1, "enteredAt": 1}))
    buyers = rng.sample(landings, k=len(landings) // 3)
    for number, landing in enumerate(buyers):
        database.orders.insert_one(
            {
                "_id": f"demo-order-{number:03d}",
                "_openid": landing["invitee"],
                "createdAt": landing["enteredAt"] + dt.timedelta(hours=rng.choice((1, 5, 30, 100, 200))),
                "amount": rng.choice((88, 128, 168, 288)),
                "status": "refunded" if number % 7 == 0 else "paid",
            }
        )
    os.environ.update(
        {"ORDER_STATUS_FIELD": "status", "ORDER_PAID_VALUES": "paid", "ADMIN_OPENIDS": openid_for("ops-admin")}
    )
    first = min(shanghai_date(landing["enteredAt"]) for landing in landings)
    last = max(shanghai_date(landing["enteredAt"]) for landing in landings)
    clock.set(dt.datetime.combine(last + dt.timedelta(days=9), dt.time(2, 17), SHANGHAI))
    # The reward programme settles first (¥5 plus 3 % of each invitee's first paid order), so the dashboard's
    # leaderboard shows what the inviters earned.
    os.environ.update({"REWARD_FIXED": "5", "REWARD_PERCENT": "3"})
    settled = load_handler("rewards").main_handler(
        {"action": "settle"}, scf_context(openid_for("ops-admin"), function_name="rewards")
    )
    assert settled["ok"], settled
    print(
        f"\nRewards settled: {settled['created']} rewards created, {settled['rejected']} rejected (self-dealing, caps)"
    )
    handler = load_handler("dailyFunnel")
    result = handler.main_handler(
        {"from": first.isoformat(), "to": last.isoformat()},
        scf_context(openid_for("ops-admin"), function_name="dailyFunnel"),
    )
    assert result["ok"], result
    print(
        f"\nDaily funnel (dailyFunnel backfill {result['from']} … {result['to']}, first touch, 7-day window; "
        f"{len(buyers)} orders, every 7th refunded):"
    )
    print(f"  {'day':<12}{'intents':>8}{'landings':>9}{'invitees':>9}{'new':>6}{'converters':>11}{'revenue':>9}")
    busiest, most = None, -1
    for row in database.funnel_daily.find({"dim": "total"}).sort("date", 1):
        print(
            f"  {row['date']:<12}{row['intents']:>8}{row['landings']:>9}{row['invitees']:>9}{row['newUsers']:>6}"
            f"{row['converters']:>11}{row['revenue']:>9.0f}"
        )
        # The demo's database lives in memory and is gone when it exits: it writes every day's page itself.
        page = out_dir / f"funnel-{row['date']}.html"
        page.write_text(
            html_report(row["date"], list(database.funnel_daily.find({"date": row["date"]}))), encoding="utf-8"
        )
        if row["landings"] > most:
            busiest, most = row["date"], row["landings"]
    print(
        f"  HTML report of the busiest day: {shown(out_dir / f'funnel-{busiest}.html')} (every day's page is beside it;"
        f" on your own database: MONGODB_URI=… make report DATE={busiest})"
    )
    from shared.funnel.dashboard import build_dashboard
    from shared.funnel.service import funnel_store
    from shared.funnel.settings import FunnelSettings

    settings = FunnelSettings.from_env()
    page, _ = build_dashboard(funnel_store(settings), settings, first, last)
    (out_dir / "dashboard.html").write_text(page, encoding="utf-8")
    print(
        f"  Dashboard of the whole campaign (phone-ready, 中文/English): {shown(out_dir / 'dashboard.html')}"
        f" (on your own database: MONGODB_URI=… make dashboard)"
    )
    from tools import page_check

    if page_check.chromium():  # what a reviewer looks at: the page at a phone's and a desktop's width
        shots = [
            page_check.screenshot(out_dir / "dashboard.html", out_dir / f"dashboard-{name}.png", size)
            for name, size in (("phone", page_check.PHONE), ("desktop", page_check.DESKTOP))
        ]
        print(f"  Screenshots: {', '.join(shown(shot) for shot in shots)}")


def payouts(codes, clock) -> None:
    """Once the holding period has passed, the inviter with the most to withdraw takes it into WeChat 零钱
    (PAYOUT_MODE=wechatpay against the WeChat Pay emulator): WeChat's confirmation page, then WeChat Pay's callback
    through an emulated CloudBase HTTP access route, and the rewards are paid — exactly once."""
    from tools.http_access import HttpAccess
    from tools.wechatpay_emulator import WeChatPayEmulator

    pay = WeChatPayEmulator(appid=os.environ["WECHAT_APPID"])
    pay.start()
    route = "/rewards/wechatpay"
    os.environ.update({"PAYOUT_MODE": "wechatpay", **pay.settings("https://demo-env.app.tcloudbase.com" + route)})
    clock.set(clock.now() + dt.timedelta(days=15))  # past REWARD_HOLDING_DAYS (14): the rewards are approved
    instance.use_clock(clock)  # the rewards function starts anew, with payouts on
    rewards = load_handler("rewards")
    access = HttpAccess(rewards.main_handler, lambda: scf_context(None, function_name="rewards"))
    access.start()
    pay.deliver_to = access.url + route
    try:
        settled = rewards.main_handler(
            {"action": "settle"}, scf_context(openid_for("ops-admin"), function_name="rewards")
        )
        assert settled["ok"], settled
        centres = {name: call(rewards, {"action": "myCentre"}, name) for name in codes}
        name = max(centres, key=lambda n: centres[n]["availableFen"])
        payout = call(rewards, {"action": "withdraw"}, name)
        assert payout["ok"] and payout["state"] == "waiting", payout
        pay.confirm(payout["payoutId"])  # the user confirms in wx.requestMerchantTransfer; WeChat Pay calls back
        after = call(rewards, {"action": "myCentre"}, name)
        print(
            f"\nPayout into WeChat 零钱 (WeChat Pay emulator, 商家转账 with the user's confirmation): {name} withdrew "
            f"¥{payout['amountFen'] / 100:.2f} ({settled['approved']} rewards approved after the holding period);\n"
            f"  bill {payout['payoutId']} waited for {name}'s confirmation, WeChat Pay's callback came through the HTTP "
            f"access route (HTTP {access.answers[-1]}); {name}'s centre now: paid ¥{after['paidFen'] / 100:.2f}, "
            f"available ¥{after['availableFen'] / 100:.2f}, {'no payout open' if not after['openPayout'] else 'open'}."
        )
    finally:
        access.stop()
        pay.stop()
        os.environ["PAYOUT_MODE"] = "manual"


if __name__ == "__main__":
    main()
