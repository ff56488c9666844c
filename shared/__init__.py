"""Share Funnel's common package: one wing (subpackage) per concern, named for what it is.

Dependencies point one way: ``platform`` ← wings ← functions. A wing imports ``platform`` and, besides that,
only the wings listed for it here, through their package's public names (``shared/<wing>/__init__.py``).

=========  =====================================================================  ===================
wing       what it holds                                                          may import
=========  =====================================================================  ===================
platform   errors, log, clock, config reading, identity, validation, invocation,  dev (the embedded
           the database connection, admin auth, per-instance wiring               engine, lazily)
sharing    scene codec, links, attribution and credit rules, relationships,      platform, orders, wechat
           groups, use cases, its store and its published reads                   (lazily)
wechat     the WeChat HTTP client and its shared token cache                      platform
orders     the app's own orders: mapping, the index we add, reads                 platform
codes      genWxacode: requests, generator, batch, continuation, storage          platform, sharing, wechat
funnel     dailyFunnel: definition, run, store, report, dashboard                 platform, sharing, orders,
                                                                                  rewards, wechat (lazily)
rewards    the reward ledger: rules, settlement, notices, store, service,         platform, sharing, orders,
           its published reads                                                    wechat (lazily)
ops        CLI, smoke check, deployment definitions (never shipped)               anything
dev        the embedded engine (never shipped)                                    (nothing of ours)
=========  =====================================================================  ===================

Each function ships exactly the wings it imports (``shared.ops.deployment.Function.wings``):
rewards → platform, sharing, orders, rewards, wechat;
recordShare → platform, sharing, wechat (the client only when a landing carries a group cloudID); genWxacode → platform, sharing, wechat, codes; dailyFunnel → platform, sharing, orders, rewards, funnel, wechat (the
client only to publish its dashboard to CloudBase storage).

Data follows the same arrows: each collection is declared, written and read only by the wing that owns it; other
wings read what it publishes (docs/layout.md, who owns what; tests/platform/test_wings.py checks every module).
tests/platform/test_wings.py imports every function's entry in a fresh interpreter and fails when a module
outside its wings is loaded, or when a wing imports one it may not.

Kept import-light on purpose: nothing here pulls in pymongo or requests until a module that needs them is imported.
"""

# The arrows above, as data (the wing test reads them).
ALLOWED_IMPORTS = {
    "platform": {"dev"},  # only db's embedded engine, imported when MONGODB_URI is unset (never on SCF)
    "sharing": {
        "platform",
        "wechat",
        "orders",
    },  # orders: the credit rule's orders, a promoter's team's orders  # wechat: group resolution (settings at cold start, the client lazily)
    "wechat": {"platform"},
    "codes": {"platform", "sharing", "wechat"},
    "orders": {"platform"},
    # funnel: sharing's landings and credit rule, the orders, the ledger's earnings; wechat: publishing, lazily
    "funnel": {"platform", "sharing", "orders", "rewards", "wechat"},
    "rewards": {"platform", "sharing", "orders", "wechat"},  # sharing: the one credit rule; wechat: notices, lazily
    "ops": {"platform", "sharing", "wechat", "codes", "orders", "funnel", "rewards", "dev"},
    "dev": set(),
}
