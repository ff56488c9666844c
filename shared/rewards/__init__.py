"""The rewards wing: a server-side reward ledger on invitees' paid orders (never on shares, opens or landings),
credited by the funnel's own attribution (one definition: shared.funnel), settled by the rewards function's timer."""
