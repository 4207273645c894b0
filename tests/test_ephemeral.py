from __future__ import annotations

import pytest

from reportbot.service.ephemeral import ephemeral_ledger_warning

SQLITE = "sqlite:///reportbot.db"
POSTGRES = "postgresql://reportbot@db/reportbot"


@pytest.mark.parametrize(
    ("url", "environ", "in_container", "warned"),
    [
        (SQLITE, {"DYNO": "worker.1"}, False, "DYNO is set"),
        (SQLITE, {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, False, "KUBERNETES_SERVICE_HOST"),
        (SQLITE, {}, True, "this is a container"),
        (SQLITE, {}, False, None),  # a laptop or a VM with a disk
        (POSTGRES, {"DYNO": "worker.1"}, True, None),
        (SQLITE, {"DYNO": "worker.1", "REPORTBOT_DATABASE_URL": SQLITE}, False, None),  # chosen
    ],
)
def test_serve_warns_when_the_sqlite_ledger_looks_ephemeral(
    url: str, environ: dict[str, str], in_container: bool, warned: str | None
) -> None:
    warning = ephemeral_ledger_warning(url, environ, in_container=in_container)
    if warned is None:
        assert warning is None
    else:
        assert warning is not None and warned in warning
        assert "PostgreSQL" in warning
