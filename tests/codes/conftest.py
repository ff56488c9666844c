"""genWxacode through its main_handler, configured for the WeChat emulator over real HTTP."""

import pytest

from shared.platform import instance
from tests.conftest import openid_for, scf_context


@pytest.fixture
def gen(gen_module, emulator, database):
    """Call genWxacode as the mini program would: ``gen(event, as_user="alice")`` (each module configures
    ``gen_module`` at its cold start)."""
    emulator.reset()
    instance.reset()

    def call(event, as_user=None, time_limit_in_ms=60000):
        return gen_module.main_handler(
            event,
            scf_context(
                openid_for(as_user) if as_user else None, function_name="genWxacode", time_limit_in_ms=time_limit_in_ms
            ),
        )

    return call
