"""The email destination against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from reportbot.destinations.email import build_message
from reportbot.destinations.smtp import SmtpSender
from reportbot.errors import ConfigError, DeliveryError
from tests.fakes.smtp import SmtpServer, untrusted_client_context

USER, PASSWORD = "reports@example.com", "s3cret-Pa55"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
CSV = "date,api,credits\r\n2025-01-01,Flux,1 234.50\r\n2025-01-02,Suno €,0.10\r\n".encode()
HTML = '<html><body><p>Total: 1 234.50 Credits</p><img src="cid:chart" alt="chart"></body></html>'
SECURITY = {"plain": "none", "starttls": "starttls", "ssl": "ssl"}


def report(recipient: str = "team@example.org", subject: str = "Usage in January") -> EmailMessage:
    return build_message(
        sender="Reportbot <bot@reports.example.com>",
        recipient=recipient,
        subject=subject,
        text="Total: 1 234.50 Credits (▲ 12.5 %)",
        html=HTML,
        png=PNG,
        csv_bytes=CSV,
        csv_filename="usage-2025-01.csv",
        date=datetime(2025, 2, 1, 8, 0, tzinfo=UTC),
    )


def received(server: SmtpServer, index: int = 0) -> EmailMessage:
    parsed = message_from_bytes(server.messages[index].raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sender_for(sleeps: list[float]) -> Callable[..., SmtpSender]:
    def make(server: SmtpServer, **overrides: Any) -> SmtpSender:
        settings: dict[str, Any] = {
            "host": server.host,
            "port": server.port,
            "security": SECURITY[server.mode],
            "ssl_context": server.client_context,
            "timeout": 5.0,
            "sleep": sleeps.append,
        }
        return SmtpSender(**(settings | overrides))

    return make


@pytest.fixture
def plain_server() -> Iterator[SmtpServer]:
    with SmtpServer("plain") as server:
        yield server


@pytest.mark.parametrize("mode", ["plain", "starttls", "ssl"])
@pytest.mark.parametrize("auth", [None, (USER, PASSWORD)], ids=["anonymous", "auth"])
def test_it_delivers_a_report_over_each_kind_of_connection(
    mode: str, auth: tuple[str, str] | None, sender_for: Callable[..., SmtpSender]
) -> None:
    with SmtpServer(mode, auth=auth) as server:  # type: ignore[arg-type]
        login = {"username": auth[0], "password": auth[1]} if auth else {}
        with sender_for(server, **login).session() as session:
            message_id = session.send(report())

    assert len(server.messages) == 1
    assert server.messages[0].mail_from == "bot@reports.example.com"
    assert server.messages[0].rcpt_tos == ["team@example.org"]
    assert received(server)["Message-ID"] == message_id


def test_it_sends_no_mail_without_logging_in_when_the_server_requires_it(
    sender_for: Callable[..., SmtpSender],
) -> None:
    with (
        SmtpServer("starttls", auth=(USER, PASSWORD)) as server,
        pytest.raises(DeliveryError, match="530") as error,
        sender_for(server).session() as session,
    ):
        session.send(report())

    assert error.value.permanent
    assert server.messages == []


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_a_certificate_from_an_unknown_ca_is_a_permanent_error_with_a_hint(
    mode: str, sender_for: Callable[..., SmtpSender], sleeps: list[float]
) -> None:
    with SmtpServer(mode) as server:  # type: ignore[arg-type]
        sender = sender_for(server, ssl_context=untrusted_client_context())
        with pytest.raises(DeliveryError, match="SSL_CERT_FILE") as error, sender.session() as s:
            s.send(report())

    assert error.value.permanent
    assert "certificate not trusted" in str(error.value)
    assert server.messages == []
    assert sleeps == []


def test_implicit_tls_against_a_plain_port_is_a_permanent_error_naming_the_settings(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender]
) -> None:
    sender = sender_for(plain_server, security="ssl")

    with pytest.raises(DeliveryError, match="SMTP_SECURITY") as error:
        sender.check()

    assert error.value.permanent


@pytest.mark.parametrize("command", ["MAIL", "DATA"])
def test_a_421_is_retried_on_a_new_connection_and_the_report_delivered_once(
    command: str,
    plain_server: SmtpServer,
    sender_for: Callable[..., SmtpSender],
    sleeps: list[float],
) -> None:
    plain_server.fail_next(421, "4.3.2 Service not available", on=command)  # type: ignore[arg-type]

    with sender_for(plain_server).session() as session:
        session.send(report())

    assert len(plain_server.messages) == 1
    assert plain_server.connections == 2
    assert sleeps == [2.0]


def test_it_gives_up_on_repeated_4xx_with_a_transient_error(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender], sleeps: list[float]
) -> None:
    plain_server.fail_next(451, "4.3.0 Local error in processing", times=3)

    with (
        pytest.raises(DeliveryError, match="gave up after 3 attempts") as error,
        sender_for(plain_server).session() as session,
    ):
        session.send(report())

    assert not error.value.permanent
    assert "451" in str(error.value)
    assert sleeps == [2.0, 4.0]
    assert plain_server.messages == []


def test_a_5xx_for_the_message_is_permanent_and_not_retried(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender], sleeps: list[float]
) -> None:
    plain_server.fail_next(554, "5.7.1 Message rejected as spam")

    with (
        pytest.raises(DeliveryError, match=r"554 5\.7\.1") as error,
        sender_for(plain_server).session() as session,
    ):
        session.send(report())

    assert error.value.permanent
    assert sleeps == []


def test_an_unreachable_server_is_retried_then_reported_as_transient(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender], sleeps: list[float]
) -> None:
    sender = sender_for(plain_server, port=_closed_port())

    with pytest.raises(DeliveryError, match="gave up after 3 attempts") as error:
        sender.check()

    assert not error.value.permanent
    assert sleeps == [2.0, 4.0]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_a_wrong_password_is_permanent_and_never_shown(
    mode: str, sender_for: Callable[..., SmtpSender], sleeps: list[float]
) -> None:
    with SmtpServer(mode, auth=(USER, PASSWORD)) as server:  # type: ignore[arg-type]
        sender = sender_for(server, username=USER, password="wrong-" + PASSWORD)
        with pytest.raises(DeliveryError) as error:
            sender.check()

    assert str(error.value) == f"SMTP login failed for {USER}: check SMTP_USERNAME/SMTP_PASSWORD"
    assert error.value.permanent
    assert PASSWORD not in str(error.value) + repr(error.value) + repr(sender)
    assert sleeps == []


def test_a_refused_recipient_is_reported_and_the_others_still_get_theirs(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender]
) -> None:
    plain_server.refuse("gone@example.org")

    with sender_for(plain_server).session() as session:
        session.send(report("first@example.org"))
        with pytest.raises(DeliveryError, match=r"gone@example\.org") as error:
            session.send(report("gone@example.org"))
        session.send(report("third@example.org"))

    assert error.value.permanent
    assert "550" in str(error.value)
    delivered = [m.rcpt_tos for m in plain_server.messages]
    assert delivered == [["first@example.org"], ["third@example.org"]]
    assert plain_server.connections == 1


def test_it_never_sends_in_clear_when_starttls_is_not_offered(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender], sleeps: list[float]
) -> None:
    sender = sender_for(plain_server, security="starttls", username=USER, password=PASSWORD)

    with (
        pytest.raises(DeliveryError, match="does not offer STARTTLS") as error,
        sender.session() as session,
    ):
        session.send(report())

    assert error.value.permanent
    assert plain_server.messages == []
    assert sleeps == []


def test_one_connection_carries_every_message_of_a_session(
    sender_for: Callable[..., SmtpSender],
) -> None:
    with SmtpServer("starttls", auth=(USER, PASSWORD)) as server:
        sender = sender_for(server, username=USER, password=PASSWORD)
        with sender.session() as session:
            ids = [session.send(report(f"r{n}@example.org")) for n in range(3)]

    assert len(server.messages) == 3
    assert server.connections == 1
    assert len(set(ids)) == 3


def test_it_reconnects_when_the_server_dropped_an_idle_connection(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender]
) -> None:
    with sender_for(plain_server).session() as session:
        session.send(report())
        plain_server.disconnect_clients()
        session.send(report())

    assert len(plain_server.messages) == 2
    assert plain_server.connections == 2


def test_check_logs_in_and_says_how(sender_for: Callable[..., SmtpSender]) -> None:
    with SmtpServer("starttls", auth=(USER, PASSWORD)) as server:
        sender = sender_for(server, username=USER, password=PASSWORD)
        description = sender.check()

    assert description == f"127.0.0.1:{server.port} starttls, logged in as {USER}"
    assert server.messages == []


def test_the_received_report_has_both_bodies_an_inline_chart_and_the_csv(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender]
) -> None:
    with sender_for(plain_server).session() as session:
        session.send(report())
    msg = received(plain_server)

    assert msg.get_content_type() == "multipart/mixed"
    assert msg["From"] == "Reportbot <bot@reports.example.com>"
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().strip() == "Total: 1 234.50 Credits (▲ 12.5 %)"
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.iter_parts() if p.get_content_type() == "image/png")
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    assert f'src="cid:{image["Content-ID"][1:-1]}"' in html.get_content()
    (attachment,) = msg.iter_attachments()
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "usage-2025-01.csv"
    assert attachment.get_payload(decode=True) == CSV


def test_a_subject_with_line_breaks_cannot_add_headers(
    plain_server: SmtpServer, sender_for: Callable[..., SmtpSender]
) -> None:
    with sender_for(plain_server).session() as session:
        session.send(report(subject="Usage for Flux\r\nBcc: attacker@evil.example\nX: y"))
    msg = received(plain_server)

    assert msg["Subject"] == "Usage for Flux Bcc: attacker@evil.example X: y"
    assert msg["Bcc"] is None
    assert msg["X"] is None
    assert plain_server.messages[0].rcpt_tos == ["team@example.org"]


def test_html_that_does_not_show_the_chart_gets_no_image_part() -> None:
    msg = build_message(
        sender="bot@example.com",
        recipient="a@example.org",
        subject="s",
        text="t",
        html="<p>no chart</p>",
        png=PNG,
        csv_bytes=None,
        csv_filename=None,
    )

    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]


@pytest.mark.parametrize("address", ["", "not an address", "Name <nobody>"])
def test_a_malformed_address_is_a_config_error(address: str) -> None:
    with pytest.raises(ConfigError, match="not an email address"):
        build_message(
            sender="bot@example.com",
            recipient=address,
            subject="s",
            text="t",
            html=HTML,
            png=None,
            csv_bytes=None,
            csv_filename=None,
        )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
