"""The bad-input contract, as one assertion the test files share."""

import numba
import pytest


def raises_clean(exc, prefix: str, fn):
    """fn() raises ``exc`` with one line that starts with ``prefix`` (the
    argument's name and a colon), and it is no numba typing error."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    assert msg.startswith(prefix), msg
    assert "\n" not in msg, msg
    assert not isinstance(info.value, numba.core.errors.NumbaError)
    return info
