"""dailyFunnel's wing: the funnel definition, the run, its Mongo store, the report and the dashboard. It reads the
sharing wing's landings, intents and users, the app's orders and the reward ledger only through what those wings
publish (``SharingReads``, ``OrderReads``, ``RewardReads``); nothing outside it reads its report rows or runs but the
ops CLI.
"""

from shared.funnel.settings import FunnelSettings

__all__ = ["FunnelSettings"]
