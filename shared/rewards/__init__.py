"""The rewards wing: a server-side reward ledger on invitees' paid orders (never on shares, opens or landings),
credited by the sharing wing's one attribution rule (``shared.sharing.credit``), settled by the rewards function's
timer. Other wings read the ledger only through ``RewardReads`` (exact earnings in fen) and its ``STATES``."""

from shared.rewards.ledger import EARNING, STATES
from shared.rewards.reads import RewardReads

__all__ = ["EARNING", "STATES", "RewardReads"]
